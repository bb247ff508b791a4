import Foundation
import Support

extension OrderedJSON {
    /// The value as a webhook body: UTF-8, with strings also escaping DEL, U+2028 and U+2029, because receivers that
    /// hand the body to JavaScript would otherwise see a line break inside a string.
    var webhookBody: Data { self.data(forJavaScript: true) }
}
