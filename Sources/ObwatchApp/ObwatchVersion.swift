/// The version of obwatch, as `obwatch --version` prints it.
public enum ObwatchVersion {
    /// The semantic version of this build.
    public static let current = "0.2.0"
}
