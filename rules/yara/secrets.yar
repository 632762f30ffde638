// apkscan YARA rules: Embedded credentials in native code and payloads (dex/resources are covered by YAML regex rules).
// Meta fields: see docs/rules.md. Chinese words are hex strings of their UTF-8 bytes.

rule AWS_ACCESS_KEY_ID
{
    meta:
        id = "SEC-SECRET-Y01"
        title = "AWS access key id in native code or payloads"
        description = "A string shaped like an AWS access key id (AKIA/ASIA + 16 characters) is embedded in a native library, asset or nested payload. Keys hidden in .so files are as extractable as keys in dex."
        severity = "high"
        confidence = "medium"
        category = "security"
        tags = "secret,credentials"
        references = "OWASP MASVS MASVS-CRYPTO-2"
        remediation = "Remove and rotate the key; fetch short-lived credentials from a server."
        title_zh = "原生代码或载荷中的AWS访问密钥ID"
        description_zh = "原生库、assets或嵌套载荷中内嵌了形如AWS访问密钥ID的字符串（AKIA/ASIA加16个字符）。藏在.so文件中的密钥与dex中的密钥一样可被提取。"
        remediation_zh = "删除并轮换该密钥；改为从服务器获取短期凭证。"
        targets = "native,assets,nested"
    strings:
        $k = /(AKIA|ASIA)[0-9A-Z]{16}[^0-9A-Z]/
    condition:
        $k
}

rule PEM_PRIVATE_KEY
{
    meta:
        id = "SEC-SECRET-Y02"
        title = "PEM private key embedded in the app"
        description = "A PEM private-key header appears in a native library, asset or nested payload. Whatever the key protects is compromised for anyone who unpacks the APK."
        severity = "high"
        confidence = "high"
        category = "security"
        tags = "secret,private-key"
        references = "OWASP MASVS MASVS-CRYPTO-2"
        remediation = "Remove and rotate the key; keep private keys on servers or in the Android Keystore."
        title_zh = "应用中内嵌PEM私钥"
        description_zh = "原生库、assets或嵌套载荷中出现PEM私钥头。任何解包该安装包的人都能攻破该私钥所保护的内容。"
        remediation_zh = "删除并轮换该私钥；私钥应保存在服务器或Android Keystore中。"
        targets = "native,assets,resources,nested"
    strings:
        $a = "-----BEGIN RSA PRIVATE KEY-----"
        $b = "-----BEGIN PRIVATE KEY-----"
        $c = "-----BEGIN EC PRIVATE KEY-----"
        $d = "-----BEGIN OPENSSH PRIVATE KEY-----"
    condition:
        any of them
}
