// apkscan YARA rules: Fraud markers in assets and payloads: payment fields, wallet addresses, UTF-8 keyword literals.
// Meta fields: see docs/rules.md. Chinese words are hex strings of their UTF-8 bytes.

rule PAY_FOURTH_PARTY_FIELDS
{
    meta:
        id = "FR-PAY4-Y01"
        title = "Fourth-party payment gateway request fields"
        description = "At least three request fields of the common fourth-party ('四方') payment gateway protocol appear (pay_memberid, pay_orderid, pay_bankcode, pay_notifyurl, pay_md5sign ...). Such unlicensed aggregators settle fraud and gambling deposits through rented merchant accounts."
        severity = "medium"
        confidence = "high"
        category = "fraud"
        tags = "payment,fourth-party-payment"
        references = "反电信网络诈骗法 Art. 25; 反电信网络诈骗法 Art. 31"
        remediation = "Use licensed payment institutions only."
        title_zh = "第四方支付网关请求字段"
        description_zh = "出现至少三个常见第四方（“四方”）支付网关协议的请求字段（pay_memberid、pay_orderid、pay_bankcode、pay_notifyurl、pay_md5sign等）。此类无证聚合支付通过租用的商户账户为诈骗和赌博结算资金。"
        remediation_zh = "仅使用持牌支付机构。"
        targets = "dex,assets,resources,nested"
    strings:
        $a = "pay_memberid"
        $b = "pay_orderid"
        $c = "pay_bankcode"
        $d = "pay_notifyurl"
        $e = "pay_callbackurl"
        $f = "pay_md5sign"
        $g = "pay_applydate"
    condition:
        3 of them
}

rule CRYPTO_TRON_ADDRESS
{
    meta:
        id = "FR-CRYPTO-Y01"
        title = "TRON (TRC20) wallet address next to USDT wording"
        description = "A TRON address (T + 33 base58 characters) follows an 'address' / 'wallet' / 地址 label in a file that also mentions USDT or TRC20. Deposit addresses bundled in web assets are how fraud and gambling apps collect money in virtual currency."
        severity = "medium"
        confidence = "medium"
        category = "fraud"
        tags = "crypto,usdt,wallet-address"
        references = "反电信网络诈骗法 Art. 25; 人民银行等十部门 关于进一步防范和处置虚拟货币交易炒作风险的通知 (2021-09)"
        remediation = "Remove embedded wallet addresses; report them if the app is fraudulent."
        title_zh = "与USDT相关文字相邻的波场（TRC20）钱包地址"
        description_zh = "在同时提及USDT或TRC20的文件中，“address”/“wallet”/“地址”标签后出现波场地址（T后接33个base58字符）。诈骗和赌博应用通过内置在网页资源中的收款地址以虚拟货币收取资金。"
        remediation_zh = "删除内嵌的钱包地址；如应用涉及诈骗，应报告这些地址。"
        targets = "assets,resources,nested"
    strings:
        $usdt = "USDT" ascii wide nocase
        $trc = "TRC20" ascii wide nocase
        $addr = /(address|Address|ADDRESS|wallet|Wallet|\xE5\x9C\xB0\xE5\x9D\x80)[^T\n]{0,60}T[1-9A-HJ-NP-Za-km-z]{33}/
    condition:
        $addr and ($usdt or $trc)
}

rule CN_KW_FAKE_LOAN
{
    meta:
        id = "FR-LOAN-Y01"
        title = "Fake-loan phrases in bundled web assets"
        description = "Three or more fake-loan phrases (no collateral, lending to blacklisted borrowers, no credit check, unfreezing fees ...) appear as UTF-8 text inside assets. WebView shells keep their whole UI there."
        severity = "low"
        confidence = "medium"
        category = "fraud"
        tags = "fraud-loan,keywords"
        references = "MPS 2022 five fraud types (虚假网络贷款); 反电信网络诈骗法"
        remediation = "Remove credit-blind lending claims and advance fees."
        title_zh = "内置网页资源中的虚假贷款话术"
        description_zh = "assets中以UTF-8文本形式出现三个或更多虚假贷款话术（无抵押、黑户可贷、不查征信、解冻费等）。WebView外壳应用的全部界面都位于该目录中。"
        remediation_zh = "删除“无视征信”类放贷宣传和前置收费。"
        targets = "assets,nested"
    strings:
        $k0 = { E6 97 A0 E6 8A B5 E6 8A BC }  // 无抵押
        $k1 = { E9 BB 91 E6 88 B7 E5 8F AF E8 B4 B7 }  // 黑户可贷
        $k2 = { E4 B8 8D E7 9C 8B E5 BE 81 E4 BF A1 }  // 不看征信
        $k3 = { E7 A7 92 E4 B8 8B E6 AC BE }  // 秒下款
        $k4 = { E8 A7 A3 E5 86 BB E9 87 91 }  // 解冻金
        $k5 = { E5 B7 A5 E6 9C AC E8 B4 B9 }  // 工本费
        $k6 = { E5 88 B7 E6 B5 81 E6 B0 B4 }  // 刷流水
        $k7 = { E9 93 B6 E8 A1 8C E5 8D A1 E5 8F B7 E9 94 99 E8 AF AF }  // 银行卡号错误
    condition:
        3 of ($k*)
}

rule CN_KW_ORDER_BRUSHING
{
    meta:
        id = "FR-TASK-Y01"
        title = "Order-brushing phrases in bundled web assets"
        description = "Three or more order-brushing phrases (刷单, task hall, advancing principal, commission rebates) appear as UTF-8 text inside assets."
        severity = "low"
        confidence = "medium"
        category = "fraud"
        tags = "fraud-task,keywords"
        references = "MPS 2022 five fraud types (刷单返利); 反电信网络诈骗法"
        remediation = "Remove paid order-brushing tasks."
        title_zh = "内置网页资源中的刷单话术"
        description_zh = "assets中以UTF-8文本形式出现三个或更多刷单话术（刷单、任务大厅、垫付本金、返还佣金）。"
        remediation_zh = "删除有偿刷单任务。"
        targets = "assets,nested"
    strings:
        $k0 = { E5 88 B7 E5 8D 95 }  // 刷单
        $k1 = { E4 BB BB E5 8A A1 E5 A4 A7 E5 8E 85 }  // 任务大厅
        $k2 = { E5 9E AB E4 BB 98 E6 9C AC E9 87 91 }  // 垫付本金
        $k3 = { E6 8A A2 E5 8D 95 E5 A4 A7 E5 8E 85 }  // 抢单大厅
        $k4 = { E8 BF 94 E4 BD A3 }  // 返佣
        $k5 = { E5 81 9A E5 8D 95 E8 BF 94 E4 BD A3 }  // 做单返佣
        $k6 = { E8 BF 9E E5 8D 95 E4 BB BB E5 8A A1 }  // 连单任务
    condition:
        3 of ($k*)
}

rule CN_KW_POLICE_IMPERSONATION
{
    meta:
        id = "FR-POLICE-Y01"
        title = "Police-impersonation phrases in bundled assets"
        description = "Three or more phrases of the police/court impersonation script (arrest warrant, safe account, suspected money laundering, asset check, confidentiality agreement) appear as UTF-8 text inside assets."
        severity = "medium"
        confidence = "medium"
        category = "fraud"
        tags = "fraud-police,keywords"
        references = "MPS 2022 five fraud types (冒充公检法); 反电信网络诈骗法"
        remediation = "No legitimate app handles warrants or safe accounts; remove the content."
        title_zh = "内置资源中的冒充公检法话术"
        description_zh = "assets中以UTF-8文本形式出现三个或更多冒充公检法话术（逮捕令、安全账户、涉嫌洗钱、资产核查、保密协议）。"
        remediation_zh = "没有任何正当应用会处理逮捕令或安全账户；删除相关内容。"
        targets = "assets,nested"
    strings:
        $k0 = { E9 80 9A E7 BC 89 E4 BB A4 }  // 通缉令
        $k1 = { E5 AE 89 E5 85 A8 E8 B4 A6 E6 88 B7 }  // 安全账户
        $k2 = { E6 B6 89 E5 AB 8C E6 B4 97 E9 92 B1 }  // 涉嫌洗钱
        $k3 = { E8 B5 84 E9 87 91 E6 B8 85 E6 9F A5 }  // 资金清查
        $k4 = { E5 86 BB E7 BB 93 E4 BB A4 }  // 冻结令
        $k5 = { E9 80 AE E6 8D 95 E4 BB A4 }  // 逮捕令
        $k6 = { E4 BF 9D E5 AF 86 E5 8D 8F E8 AE AE }  // 保密协议
        $k7 = { E6 A1 88 E4 BB B6 E7 BC 96 E5 8F B7 }  // 案件编号
    condition:
        3 of ($k*)
}

rule CN_KW_MONEY_MULE
{
    meta:
        id = "FR-MULE-Y01"
        title = "Money-mule (跑分) phrases in bundled assets"
        description = "Two or more money-mule phrases (跑分, code merchants, acceptance merchants, collecting on behalf of others) appear as UTF-8 text inside assets."
        severity = "medium"
        confidence = "medium"
        category = "fraud"
        tags = "mule,payment,keywords"
        references = "反电信网络诈骗法 Art. 31"
        remediation = "Remove features paying users to route money through their accounts."
        title_zh = "内置资源中的“跑分”话术"
        description_zh = "assets中以UTF-8文本形式出现两个或更多“跑分”话术（跑分、码商、承兑商、代收代付）。"
        remediation_zh = "删除向用户付费、通过其账户转移资金的功能。"
        targets = "assets,nested"
    strings:
        $k0 = { E8 B7 91 E5 88 86 }  // 跑分
        $k1 = { E7 A0 81 E5 95 86 }  // 码商
        $k2 = { E6 89 BF E5 85 91 E5 95 86 }  // 承兑商
        $k3 = { E4 BB A3 E6 94 B6 E4 BB A3 E4 BB 98 }  // 代收代付
        $k4 = { E5 8D A1 E5 95 86 }  // 卡商
    condition:
        2 of ($k*)
}

rule CN_KW_MASKING_OVERLAY
{
    meta:
        id = "FR-RC-Y01"
        title = "Black-screen masking texts"
        description = "Two or more masking texts used by remote-control fraud while money is moved ('system maintenance', 'official operation in progress', 'do not switch off') appear in the app's code or assets."
        severity = "medium"
        confidence = "medium"
        category = "fraud"
        tags = "remote-control,overlay"
        references = "反电信网络诈骗法 Art. 14"
        remediation = "Remove full-screen masking notices."
        title_zh = "黑屏遮罩文字"
        description_zh = "应用的代码或assets中出现两条或更多远程控制诈骗在转移资金时使用的遮罩文字（“系统维护中”“官方操作中”“请勿关机”）。"
        remediation_zh = "删除全屏遮罩提示。"
        targets = "dex,assets,nested"
    strings:
        $k0 = { E7 B3 BB E7 BB 9F E7 BB B4 E6 8A A4 E4 B8 AD }  // 系统维护中
        $k1 = { E5 AE 98 E6 96 B9 E6 93 8D E4 BD 9C E4 B8 AD }  // 官方操作中
        $k2 = { E8 AF B7 E5 8B BF E5 85 B3 E6 9C BA }  // 请勿关机
        $k3 = { E8 B5 84 E9 87 91 E6 A0 B8 E9 AA 8C E4 B8 AD }  // 资金核验中
        $k4 = { E6 AD A3 E5 9C A8 E5 A4 84 E7 90 86 E8 AF B7 E5 8B BF E6 93 8D E4 BD 9C }  // 正在处理请勿操作
    condition:
        2 of ($k*)
}
