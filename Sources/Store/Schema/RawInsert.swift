import GRDB
import GRDBSQLite

/// The one place the Store touches SQLite's C API: binding and stepping the unit claim and the
/// measurement insert directly. GRDB's `StatementArguments` allocate an array of boxed values per row, which cost
/// more than the insert itself on the probe's write path (16 rows per unit, one unit per
/// transaction); everything else goes through GRDB.
struct RawInsert {
    let statement: Statement

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    /// Claims a unit: (run, arm, clip, step, seed, finished) into `units` as done, doing nothing
    /// when the row exists. Returns whether a row was inserted.
    func claimUnit(_ db: Database, run: Int64, arm: Int64, clip: Int64, step: Int, seed: Int, finished: String) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_bind_int64(s, 1, run)
        sqlite3_bind_int64(s, 2, arm)
        sqlite3_bind_int64(s, 3, clip)
        sqlite3_bind_int64(s, 4, Int64(step))
        sqlite3_bind_int64(s, 5, Int64(seed))
        var stamp = finished
        stamp.withUTF8 { p in _ = sqlite3_bind_text(s, 6, p.baseAddress, Int32(p.count), Self.transient) }
        let code = sqlite3_step(s)
        sqlite3_reset(s)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// Inserts one measurement row: (run, arm, clip, step, seed, metric, region, value, protocol).
    func insert(_ db: Database, run: Int64, arm: Int64, clip: Int64, step: Int, seed: Int, _ m: MeasurementValue) throws {
        let s = statement.sqliteStatement
        sqlite3_bind_int64(s, 1, run)
        sqlite3_bind_int64(s, 2, arm)
        sqlite3_bind_int64(s, 3, clip)
        sqlite3_bind_int64(s, 4, Int64(step))
        sqlite3_bind_int64(s, 5, Int64(seed))
        var metric = m.metric, region = m.region
        metric.withUTF8 { p in _ = sqlite3_bind_text(s, 6, p.baseAddress, Int32(p.count), Self.transient) }
        region.withUTF8 { p in _ = sqlite3_bind_text(s, 7, p.baseAddress, Int32(p.count), Self.transient) }
        if m.value.isNaN { sqlite3_bind_null(s, 8) } else { sqlite3_bind_double(s, 8, m.value) }
        if var p = m.protocolName {
            p.withUTF8 { b in _ = sqlite3_bind_text(s, 9, b.baseAddress, Int32(b.count), Self.transient) }
        } else {
            sqlite3_bind_null(s, 9)
        }
        let code = sqlite3_step(s)
        sqlite3_reset(s)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }
}
