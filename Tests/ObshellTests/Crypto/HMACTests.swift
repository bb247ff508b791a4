import Cryptography
import Foundation
import Testing

@Suite("HMAC-SHA256")
struct HMACTests {
    @Test("RFC 4231 test case 2 and an empty key and message")
    func vectors() {
        let code = HMACSHA256.authenticationCode(key: "Jefe", message: "what do ya want for nothing?")
        #expect(
            code.map { String(format: "%02x", $0) }.joined()
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        let empty = HMACSHA256.authenticationCode(key: Data(), message: Data())
        #expect(empty.base64EncodedString() == "thNnmggU2ex3L5XXeMNfxf8Wl8STcVZTxscSFEKSxa0=")
    }

    @Test("the DingTalk and Feishu vectors of receivers.md")
    func vendorVectors() {
        let dingtalk = HMACSHA256.authenticationCode(key: "xxx", message: "1720063700033\nxxx").base64EncodedString()
        #expect(dingtalk == "IHDTBKzS3wZ2L1jwzs7iZM2suWC89V+VfuN1kTnAMSE=")
        let feishu = HMACSHA256.authenticationCode(key: "1720063700\nxxx", message: "").base64EncodedString()
        #expect(feishu == "wd4nNoO3bor/PUvYPq+RHABlxD37ki8eADz/yky3DIA=")
    }
}
