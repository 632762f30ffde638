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
