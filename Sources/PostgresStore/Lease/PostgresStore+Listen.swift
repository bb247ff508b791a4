import ConfigModel
import Logging
import PostgresNIO

extension PostgresStore {
    /// A connection of its own, outside the pool and its deadline: `LISTEN` holds one for as long as it listens,
    /// and must never hand it to another caller.
    /// - Parameter id: The connection's id in PostgresNIO's logs.
    /// - Throws: ``StoreError`` when it cannot be made.
    func dedicatedConnection(id: Int) async throws(StoreError) -> PostgresConnection {
        let settings = try ConnectionSettings(self.settings, connectTimeout: .seconds(5))
        do {
            return try await PostgresConnection.connect(
                configuration: settings.configuration,
                id: id,
                logger: Logger(label: "obwatch.store.listen")
            )
        } catch {
            throw StoreFailure.describe(
                error,
                endpoint: self.settings.endpoint,
                secrets: [self.settings.password?.revealed ?? ""].filter { !$0.isEmpty }
            )
        }
    }
}
