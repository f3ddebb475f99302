import Foundation

/// The table in the fixture folder's README: what each real binary is, written down by
/// someone who parsed them independently. Tests compare the reader against it.
public struct FixtureTable {
    public struct Row: Sendable, CustomStringConvertible {
        public var file: String
        /// Nil for the "no module" rows.
        public var platform: Int?
        public var function: String?
        public var index: Int?
        public var version: Int?
        public var prefixOffset: Int?
        public var start: Int?
        public var end: Int?
        public var crcOK: Bool?
        public var lengthExact: Bool?
        public var suffixSize: Int?
        /// (function, index, version)
        public var dependencies: [Dependency]
        /// For "no module" rows: the file length the table gives.
        public var noModuleLength: Int?

        public var description: String { file }
    }

    public struct Dependency: Hashable, Sendable, CustomStringConvertible {
        public var function: String
        public var index: Int
        public var version: Int
        public var description: String { "\(function) \(index) v\(version)" }

        public init(function: String, index: Int, version: Int) {
            self.function = function
            self.index = index
            self.version = version
        }
    }

    public var rows: [Row]

    public static func load() throws -> FixtureTable {
        let readme = try Fixtures.requireFirmwareDirectory().appendingPathComponent("README.md")
        return try FixtureTable(markdown: String(contentsOf: readme, encoding: .utf8))
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    public init(markdown: String) throws {
        var rows: [Row] = []
        for line in markdown.split(separator: "\n") where line.hasPrefix("| ") && line.contains(".bin") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 12 else { throw Malformed(description: "row with \(cells.count) cells: \(line)") }
            var row = Row(file: cells[0], dependencies: [])
            if cells[2] == "no module" {
                row.noModuleLength = Int(cells[9].split(separator: " ").first ?? "")
                rows.append(row)
                continue
            }
            func number(_ text: String) throws -> Int {
                let value = text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
                guard let value else { throw Malformed(description: "not a number: \(text) in \(line)") }
                return value
            }
            row.platform = try number(cells[1])
            row.function = cells[2]
            row.index = try number(cells[3])
            row.version = try number(cells[4])
            row.prefixOffset = try number(cells[5])
            row.start = try number(cells[6])
            row.end = try number(cells[7])
            row.crcOK = cells[8] == "ok"
            row.lengthExact = cells[9] == "exact"
            row.suffixSize = try number(cells[10])
            if cells[11] != "none" {
                for item in cells[11].split(separator: ",") {
                    let parts = item.split(separator: " ")
                    guard parts.count == 3, parts[2].hasPrefix("v") else {
                        throw Malformed(description: "dependency \(item) in \(line)")
                    }
                    row.dependencies.append(Dependency(
                        function: String(parts[0]), index: try number(String(parts[1])),
                        version: try number(String(parts[2].dropFirst()))))
                }
            }
            rows.append(row)
        }
        self.rows = rows
    }
}
