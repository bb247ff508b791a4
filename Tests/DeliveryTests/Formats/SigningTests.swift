import ConfigModel
import Delivery
import Foundation
import Testing

@Suite struct SigningTests {
    @Test func dingTalkSignatureMatchesTheVectorAndKeepsTheToken() throws {
        let formatter = FormatSamples.formatter(
            .dingtalk,
            url: "https://oapi.dingtalk.com/robot/send?access_token=TOKEN",
            signingSecret: "xxx"
        )
        let requests = formatter.requests(
            for: FormatSamples.notification([FormatSamples.failed()]),
            message: FormatSamples.message,
            now: Date(timeIntervalSince1970: 1_720_063_700.033)
        )
        let request = try #require(requests.first)
        let query = queryItems(request.url)
        #expect(query["access_token"] == "TOKEN")
        #expect(query["timestamp"] == "1720063700033")
        #expect(query["sign"] == "IHDTBKzS3wZ2L1jwzs7iZM2suWC89V%2BVfuN1kTnAMSE%3D")
        #expect(request.url.hasPrefix("https://oapi.dingtalk.com/robot/send?access_token=TOKEN&timestamp="))
        #expect(!request.redactedURL.contains("TOKEN"))
        #expect(!request.redactedURL.contains("sign="))
    }

    @Test func dingTalkWithoutSecretAddsNothing() throws {
        let formatter = FormatSamples.formatter(.dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=T")
        let request = try #require(
            formatter.requests(
                for: FormatSamples.notification([FormatSamples.failed()]),
                message: FormatSamples.message,
                now: FormatSamples.now
            ).first
        )
        #expect(request.url == "https://oapi.dingtalk.com/robot/send?access_token=T")
    }

    @Test func feishuSignatureMatchesTheVector() throws {
        let formatter = FormatSamples.formatter(
            .feishu,
            url: "https://open.feishu.cn/open-apis/bot/v2/hook/T",
            signingSecret: "xxx"
        )
        let request = try #require(
            formatter.requests(
                for: FormatSamples.notification([FormatSamples.failed()]),
                message: FormatSamples.message,
                now: Date(timeIntervalSince1970: 1_720_063_700)
            ).first
        )
        let body = try decodeObject(request.body)
        #expect(body["timestamp"] as? String == "1720063700")
        #expect(body["sign"] as? String == "wd4nNoO3bor/PUvYPq+RHABlxD37ki8eADz/yky3DIA=")
        #expect(request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/T")
    }

    @Test func feishuWithoutSecretHasNoSignatureFields() throws {
        let formatter = FormatSamples.formatter(.feishu)
        let request = try #require(
            formatter.requests(
                for: FormatSamples.notification([FormatSamples.failed()]),
                message: FormatSamples.message,
                now: FormatSamples.now
            ).first
        )
        let body = try decodeObject(request.body)
        #expect(body["timestamp"] == nil)
        #expect(body["sign"] == nil)
    }
}
