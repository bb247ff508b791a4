/// The version of obwatch, as `obwatch --version` prints it.
package enum ObwatchVersion {
    /// The semantic version of this build.
    package static let current = "0.2.0"
}
