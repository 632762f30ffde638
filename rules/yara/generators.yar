// apkscan YARA rules: App-generator markers and vest-package switch keys in bundled assets.
// Meta fields: see docs/rules.md. Chinese words are hex strings of their UTF-8 bytes.

rule GEN_DCLOUD_APPID
{
    meta:
        id = "FR-SHELL-Y01"
        title = "DCloud uni-app / 5+ app id in bundled assets"
        description = "A DCloud control or manifest file carries an app id of the form __UNI__XXXXXXX. The id identifies the developer account at the DCloud packaging platform, which must verify developers under Art. 23 of the Anti-Telecom Fraud Law; quote it when asking the platform."
        severity = "info"
        confidence = "high"
        category = "fraud"
        tags = "app-generator,webview-shell,dcloud"
        references = "反电信网络诈骗法 Art. 23"
        remediation = "Context only; check the web content the shell loads."
        title_zh = "内置资源中的DCloud uni-app/5+应用ID"
        description_zh = "DCloud控制文件或清单文件中含有__UNI__XXXXXXX形式的应用ID。该ID可识别开发者在DCloud封装平台上的账号，封装平台依《反电信网络诈骗法》第二十三条负有核验开发者的义务；向平台调取信息时请引用该ID。"
        remediation_zh = "仅为背景信息；应核查外壳加载的网页内容。"
        targets = "assets,nested"
    strings:
        $ctl = /appid="__UNI__[0-9A-Za-z]{7}"/
        $mf = /"id" ?: ?"__UNI__[0-9A-Za-z]{7}"/
        $plus = "\"plus\""
    condition:
        $ctl or ($mf and $plus)
}

rule GEN_APICLOUD_WIDGET
{
    meta:
        id = "FR-SHELL-Y02"
        title = "APICloud widget id in config.xml"
        description = "An APICloud config.xml declares a widget whose id starts with A6 followed by digits: the developer's app id at the APICloud platform, usable to trace the packaging account."
        severity = "info"
        confidence = "high"
        category = "fraud"
        tags = "app-generator,webview-shell,apicloud"
        references = "反电信网络诈骗法 Art. 23"
        remediation = "Context only; check the web content the shell loads."
        title_zh = "config.xml中的APICloud widget ID"
        description_zh = "APICloud的config.xml声明了以A6加数字开头的widget ID，即开发者在APICloud平台上的应用ID，可用于追溯打包账号。"
        remediation_zh = "仅为背景信息；应核查外壳加载的网页内容。"
        targets = "assets,nested"
    strings:
        $w = /<widget id="A6[0-9]{10,14}"/
        $c = "<content src="
    condition:
        $w and $c
}

rule VEST_SWITCH_KEYS
{
    meta:
        id = "FR-SWITCH-Y01"
        title = "Vest-package review switch keys or hosts"
        description = "Keys or hosts of the public 'vest package' (马甲包) switch services appear: a reviewed harmless app asks the service after approval whether to show a hidden gambling or fraud site (isshowwap / wapurl)."
        severity = "medium"
        confidence = "medium"
        category = "fraud"
        tags = "vest-switch,remote-config"
        references = "反电信网络诈骗法 Art. 23; Google Play Deceptive Behavior policy"
        remediation = "Remove remote switches that replace the reviewed app with other content."
        title_zh = "马甲包审核开关字段或主机"
        description_zh = "出现公开马甲包开关服务的字段或主机：通过审核的无害应用在获批后向该服务查询是否显示隐藏的赌博或诈骗网站（isshowwap/wapurl）。"
        remediation_zh = "删除将审核通过的应用替换为其他内容的远程开关。"
        targets = "dex,assets,nested"
    strings:
        $a = "isshowwap"
        $b = "wapurl"
        $c = "appid.php?appid="
        $d = "frontApi/getAboutUs"
        $e = "27305.com"
        $f = "App_ReviewingStatus"
    condition:
        2 of them
}
