// apkscan YARA rules: Packer stubs inside dex files (including nested payloads the YAML class rules do not see).
// Meta fields: see docs/rules.md. Chinese words are hex strings of their UTF-8 bytes.

rule PK_360_JIAGU_STUB
{
    meta:
        id = "PK-360-Y01"
        title = "360 Jiagu stub class in a dex file"
        description = "The dex type table names com.stub.StubApp, the loader of the 360 Jiagu (360加固) protector. Seen inside a nested or secondary dex it shows a packed payload whose real code is decrypted at run time."
        severity = "medium"
        confidence = "high"
        category = "analysis"
        tags = "packer,not-fully-analysable"
        references = "OWASP MASVS MASVS-RESILIENCE-3"
        remediation = "Review dynamically or obtain the unpacked build."
        title_zh = "dex文件中的360加固壳类"
        description_zh = "dex类型表中出现com.stub.StubApp，即360加固的加载类。若出现在嵌套或次级dex中，表明存在加固载荷，其真实代码在运行时解密。"
        remediation_zh = "进行动态检测，或获取未加固版本。"
        targets = "dex,nested"
    strings:
        $a = "Lcom/stub/StubApp;"
        $b = "libjiagu"
    condition:
        $a or ($b and uint32(0) == 0x0A786564)
}

rule PK_PACKER_STUBS
{
    meta:
        id = "PK-STUB-Y01"
        title = "Commercial packer stub classes in a dex file"
        description = "The dex type table names the loader class of a commercial protector (Tencent Legu, Bangcle/SecNeo, Ijiami, Baidu, NetEase Yidun, Alibaba). The visible dex is only a stub; the real code is decrypted at run time, so static findings are incomplete."
        severity = "medium"
        confidence = "high"
        category = "analysis"
        tags = "packer,not-fully-analysable"
        references = "OWASP MASVS MASVS-RESILIENCE-3"
        remediation = "Review dynamically or obtain the unpacked build."
        title_zh = "dex文件中的商业加固壳类"
        description_zh = "dex类型表中出现商业加固工具（腾讯乐固、梆梆、爱加密、百度、网易易盾、阿里）的加载类。可见的dex仅为壳代码，真实代码在运行时解密，因此静态检测结果不完整。"
        remediation_zh = "进行动态检测，或获取未加固版本。"
        targets = "dex,nested"
    strings:
        $legu = "Lcom/tencent/StubShell/"
        $bangcle = "Lcom/secneo/apkwrapper/"
        $ijiami = "Ls/h/e/l/l/"
        $baidu = "Lcom/baidu/protect/"
        $netease = "Lcom/netease/nis/wrapper/"
        $ali = "Lcom/ali/mobisecenhance/"
    condition:
        any of them
}
