package import ObshellModel

extension ObshellTime {
    /// Whether this instant comes strictly after `other`'s, whatever their offsets: `>` also orders equal instants
    /// written in different zones (by text), which a deadline must not do.
    package func isLater(than other: ObshellTime) -> Bool {
        (self.seconds, self.nanoseconds) > (other.seconds, other.nanoseconds)
    }
}
