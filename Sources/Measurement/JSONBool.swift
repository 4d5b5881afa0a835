import Foundation

/// Whether a value from `JSONSerialization` was a JSON `true`/`false`. `is Bool` cannot tell:
/// it also holds for the numbers 0 and 1; a boolean is the NSNumber of Objective-C type `c`.
package func isJSONBool(_ value: Any) -> Bool {
    guard let n = value as? NSNumber else { return false }
    return String(cString: n.objCType) == "c"
}
