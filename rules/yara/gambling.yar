// apkscan YARA rules: Gambling markers in assets and payloads.
// Meta fields: see docs/rules.md. Chinese words are hex strings of their UTF-8 bytes.

rule CN_KW_GAMBLING
{
    meta:
        id = "GB-KW-Y01"
        title = "Gambling vocabulary in bundled web assets"
        description = "Three or more lottery, casino or betting terms (时时彩, 北京赛车, 百家乐, 投注, 返水 ...) appear as UTF-8 text inside assets, where gambling WebView shells keep their UI."
        severity = "low"
        confidence = "medium"
        category = "gambling"
        tags = "gambling,keywords"
        references = "中华人民共和国刑法 Art. 303"
        remediation = "Remove betting functions."
        title_zh = "内置网页资源中的赌博词汇"
        description_zh = "assets中以UTF-8文本形式出现三个或更多彩票、赌场或投注术语（时时彩、北京赛车、百家乐、投注、返水等）；赌博类WebView外壳应用的界面就位于该目录中。"
        remediation_zh = "删除投注功能。"
        targets = "assets,nested"
    strings:
        $k0 = { E6 97 B6 E6 97 B6 E5 BD A9 }  // 时时彩
        $k1 = { E5 8C 97 E4 BA AC E8 B5 9B E8 BD A6 }  // 北京赛车
        $k2 = { E5 85 AD E5 90 88 E5 BD A9 }  // 六合彩
        $k3 = { E7 99 BE E5 AE B6 E4 B9 90 }  // 百家乐
        $k4 = { E9 BE 99 E8 99 8E E6 96 97 }  // 龙虎斗
        $k5 = { E5 B9 B8 E8 BF 90 E9 A3 9E E8 89 87 }  // 幸运飞艇
        $k6 = { E6 8A 95 E6 B3 A8 }  // 投注
        $k7 = { E8 BF 94 E6 B0 B4 }  // 返水
        $k8 = { E6 89 93 E7 A0 81 E9 87 8F }  // 打码量
        $k9 = { E7 9C 9F E4 BA BA E8 A7 86 E8 AE AF }  // 真人视讯
    condition:
        3 of ($k*)
}

rule LOTTERY_DATA_API
{
    meta:
        id = "GB-API-Y01"
        title = "Lottery-draw data API paths"
        description = "Paths of a lottery-draw data feed (apiplus.net newly/daily endpoints with lottery codes) appear. Private betting platforms poll these feeds to settle bets on official draws."
        severity = "medium"
        confidence = "medium"
        category = "gambling"
        tags = "gambling,lottery-api"
        references = "中华人民共和国刑法 Art. 303; 两高一部 网络赌博意见 (2010)"
        remediation = "Remove private lottery betting."
        title_zh = "开奖数据接口路径"
        description_zh = "出现开奖数据源的路径（apiplus.net带彩种代码的newly/daily接口）。私彩投注平台轮询这些数据源，依据官方开奖结果结算投注。"
        remediation_zh = "删除私彩投注功能。"
        targets = "dex,assets,resources,nested"
    strings:
        $h = "apiplus.net"
        $n = "/newly.do"
        $d = "/daily.do"
        $c1 = "code=cqssc"
        $c2 = "code=bjpk10"
        $c3 = "code=xyft"
        $c4 = "code=jsk3"
        $c5 = "code=pcdd"
    condition:
        ($h and ($n or $d)) or 2 of ($c*)
}
