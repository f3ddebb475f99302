import Boards
import Firmware
import Foundation
import Links
import TOMLKit

/// A host's boards, from a TOML file in `Boards/`:
///
/// ```toml
/// [[board]]
/// name = "boron-1"
/// platform = "boron"
/// emulated = true
/// tags = ["gen3"]
/// defects = []          # emulated boards only: seeded firmware bugs
/// serial = "pty"        # emulated boards only: drive console and listening mode through a
///                       # pseudo-terminal, the real serial path, instead of in-process
/// device-os = "6.2.0"   # emulated boards only: the Device OS release it runs (default
///                       # 5.8.0 on Gen 3, 1.5.2 on Gen 2); a real board reports its own
/// power-on = ["relayctl", "--port", "3", "on"]    # real boards: argv run with no shell,
/// power-off = ["relayctl", "--port", "3", "off"]  # the board's name appended
/// power-timeout = 30    # seconds a power command may take
/// # or, for a board on a hub that switches each port (what uhubctl drives):
/// power-hub = "1-1.4"   # the hub's location: bus, then ports (`otabench boards --hubs`)
/// power-port = 2        # the hub port the board is plugged into
/// power-off-time = 2    # seconds a power cut keeps a real board off
/// apply-window = 2      # seconds after a real board leaves USB to apply an update over
///                       # which apply-phase cuts are spread
///
/// [cloud]               # optional: the cloud API for real boards' cloud updates (CloudSettings)
/// token-env = "PARTICLE_ACCESS_TOKEN"
/// ```
public struct Inventory: Sendable {
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var platform: Platform
        public var emulated: Bool
        public var deviceID: String?
        public var tags: [String]
        public var defects: Set<Defect>
        /// A folder of images by role (`known-good-app.bin`, …), relative paths resolved
        /// against the inventory file.
        public var firmwareFolder: String?
        /// How the bench reaches an emulated board's serial port.
        public var serial: SerialTransport
        /// The Device OS release an emulated board runs; nil for the emulator's default.
        public var deviceOS: DeviceOSVersion?
        /// A real board's power switch: commands to run, or a hub port.
        public var power: PowerConnection?
        public var powerOffTime: Duration = .seconds(2)
        public var applyWindow: Duration = .seconds(2)

        /// The switch the entry names, if any.
        public var powerSwitch: (any PowerSwitch)? { power?.powerSwitch(for: name) }
        /// The board's power switch to drive by hand, when the entry names one.
        public var manualPower: BoardPowerSwitch? { power.map { BoardPowerSwitch($0, board: name) } }

        public init(name: String, platform: Platform, emulated: Bool = true, deviceID: String? = nil, tags: [String] = [],
                    defects: Set<Defect> = [], firmwareFolder: String? = nil, serial: SerialTransport = .inProcess) {
            self.name = name
            self.platform = platform
            self.emulated = emulated
            self.deviceID = deviceID
            self.tags = tags
            self.defects = defects
            self.firmwareFolder = firmwareFolder
            self.serial = serial
        }
    }

    public var source: String
    public var entries: [Entry]
    /// The `[cloud]` table; without one, real boards use `PARTICLE_ACCESS_TOKEN` and
    /// `PARTICLE_API_BASE_URL` when they are set.
    public var cloud: CloudSettings

    public init(source: String, entries: [Entry], cloud: CloudSettings = CloudSettings()) {
        self.source = source
        self.entries = entries
        self.cloud = cloud
    }

    public static func load(_ path: String) throws(InventoryError) -> Inventory {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw InventoryError(file: path, line: nil, key: nil, message: "cannot read it: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(InventoryError) -> Inventory {
        // "\r\n" is one Character: split on it as on "\n", so a file with CRLF line ends has lines.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init)
        if let (line, problem) = outsideTOML(text) {
            throw InventoryError(file: file, line: line, key: nil, message: problem)
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw InventoryError(file: file, line: Int(error.source.begin.line), key: nil, message: error.description)
        } catch {
            throw InventoryError(file: file, line: nil, key: nil, message: "\(error)")
        }
        for key in table.keys where key != "board" && key != "cloud" {
            throw InventoryError(file: file, line: line(of: key, in: lines), key: key,
                                 message: "unknown top-level key; boards go in [[board]] tables, the cloud API in [cloud]")
        }
        let cloud = try parseCloud(table["cloud"], file: file, lines: lines)
        guard let boards = table["board"]?.array else {
            throw InventoryError(file: file, line: nil, key: "board", message: "no [[board]] entries")
        }
        var entries: [Entry] = []
        var names: Set<String> = []
        for (position, value) in boards.enumerated() {
            let headerLine = nthLine(containing: "[[board]]", occurrence: position, in: lines)
            guard let board = value.table else {
                throw InventoryError(file: file, line: headerLine, key: "board", message: "each board must be a table")
            }
            func fail(_ key: String, _ message: String) -> InventoryError {
                InventoryError(file: file, line: line(of: key, in: lines, after: headerLine) ?? headerLine, key: key, message: message)
            }
            let known: Set<String> = ["name", "platform", "emulated", "device-id", "tags", "defects", "firmware", "serial", "device-os",
                                      "power-on", "power-off", "power-timeout", "power-hub", "power-port",
                                      "power-off-time", "apply-window"]
            if let unknown = board.keys.first(where: { !known.contains($0) }) {
                throw fail(unknown, "unknown key; known: \(known.sorted().joined(separator: ", "))")
            }
            guard let name = board["name"]?.string, !name.isEmpty else { throw fail("name", "every board needs a name (a string)") }
            guard names.insert(name).inserted else { throw fail("name", "\(name) appears twice") }
            guard let platformName = board["platform"]?.string else { throw fail("platform", "\(name) needs a platform (a string)") }
            guard let platform = Platform.named(platformName) else {
                throw fail("platform", "unknown platform \"\(platformName)\"; known: \(Platform.catalog.map(\.buildName).joined(separator: ", "))")
            }
            var emulated = true
            if let value = board["emulated"] {
                guard let flag = value.bool else { throw fail("emulated", "must be true or false") }
                emulated = flag
            }
            if !emulated, !DeviceID.isValid(board["device-id"]?.string ?? "") {
                throw fail(board["device-id"] == nil ? "emulated" : "device-id",
                           "a real board needs its device-id: the 24 hex digits of its USB serial number (`otabench boards` lists them)")
            }
            var tags: [String] = []
            if let value = board["tags"] {
                guard let array = value.array, let strings = Optional(array.compactMap(\.string)), strings.count == array.count else {
                    throw fail("tags", "must be an array of strings")
                }
                tags = strings
            }
            var defects: Set<Defect> = []
            if let value = board["defects"] {
                guard let array = value.array else { throw fail("defects", "must be an array of strings") }
                for item in array {
                    guard let text = item.string, let defect = Defect(rawValue: text) else {
                        throw fail("defects", "unknown defect \(item); known: \(Defect.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    defects.insert(defect)
                }
            }
            var folder: String?
            if let value = board["firmware"] {
                guard let text = value.string else { throw fail("firmware", "must be a folder path (a string)") }
                let base = (file as NSString).deletingLastPathComponent
                folder = text.hasPrefix("/") ? text : (base as NSString).appendingPathComponent(text)
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder!, isDirectory: &isFolder), isFolder.boolValue else {
                    throw fail("firmware", "no folder at \(folder!)")
                }
            }
            var serial = SerialTransport.inProcess
            if let value = board["serial"] {
                guard let text = value.string, let transport = SerialTransport(rawValue: text) else {
                    throw fail("serial", "must be one of: \(SerialTransport.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                guard emulated else { throw fail("serial", "only for emulated boards: a real board's console is its USB tty") }
                serial = transport
            }
            func argv(_ key: String) throws(InventoryError) -> [String] {
                guard let value = board[key] else { return [] }
                guard let array = value.array, let strings = Optional(array.compactMap(\.string)), strings.count == array.count,
                      !strings.isEmpty, !strings[0].isEmpty else {
                    throw fail(key, "must be a non-empty array of strings: the program and its arguments (run with no shell)")
                }
                return strings
            }
            let powerOn = try argv("power-on")
            let powerOff = try argv("power-off")
            if powerOn.isEmpty != powerOff.isEmpty {
                throw fail(powerOn.isEmpty ? "power-off" : "power-on", "power-on and power-off go together")
            }
            if emulated, !powerOn.isEmpty { throw fail("power-on", "an emulated board's power is the emulator's; commands are for real boards") }
            var entry = Entry(name: name, platform: platform, emulated: emulated, deviceID: board["device-id"]?.string,
                              tags: tags, defects: defects, firmwareFolder: folder, serial: serial)
            if let value = board["device-os"] {
                guard emulated else { throw fail("device-os", "only for emulated boards: a real board reports the Device OS it runs") }
                guard let version = value.string.flatMap(DeviceOSVersion.init(release:)) else {
                    throw fail("device-os", "must be a Device OS release such as \"6.2.0\" (major.minor.patch)")
                }
                if let problem = version.problem(on: platform) { throw fail("device-os", problem) }
                entry.deviceOS = version
            }
            if let value = board["power-hub"] {
                guard let location = value.string, Self.isHubLocation(location) else {
                    throw fail("power-hub", "must be a hub location such as \"1-1.4\": the bus, a dash, then ports joined by dots")
                }
                guard !emulated else { throw fail("power-hub", "an emulated board's power is the emulator's; hubs are for real boards") }
                guard powerOn.isEmpty else { throw fail("power-hub", "give either power-on/power-off commands or a hub port, not both") }
                guard let value = board["power-port"] else {
                    throw fail("power-hub", "a board on a hub needs power-port: the port number (1…255) it is plugged into")
                }
                guard let port = value.int, (1...255).contains(port) else {
                    throw fail("power-port", "must be the port number (1…255) the board is plugged into")
                }
                entry.power = .hubPort(location: location, port: port)
            } else if board["power-port"] != nil {
                throw fail("power-port", "power-port goes with power-hub, the hub's location")
            }
            var powerTimeout = Duration.seconds(30)
            if let value = board["power-timeout"] {
                guard let seconds = value.int ?? value.double.flatMap({ Self.wholeSeconds($0, rounded: .up) }), seconds > 0 else {
                    throw fail("power-timeout", "must be a number of seconds above 0")
                }
                powerTimeout = .seconds(seconds)
            }
            if !powerOn.isEmpty { entry.power = .commands(on: powerOn, off: powerOff, timeout: powerTimeout) }
            for key in ["power-off-time", "apply-window"] {
                guard let value = board[key] else { continue }
                guard let seconds = value.double ?? value.int.map(Double.init), seconds > 0, seconds <= 3600 else {
                    throw fail(key, "must be a number of seconds above 0")
                }
                guard !emulated else { throw fail(key, "only for real boards: an emulated board's power cuts take no wall-clock time") }
                let duration = Duration.milliseconds(Int((seconds * 1000).rounded()))
                if key == "power-off-time" { entry.powerOffTime = duration } else { entry.applyWindow = duration }
            }
            entries.append(entry)
        }
        return Inventory(source: file, entries: entries, cloud: cloud)
    }

    /// toml++ (inside TOMLKit) asserts, and so aborts the process, where a key starts with a
    /// character no key can hold (`[[é]]`, `[[`oard]]`, `[\u{5}]`: found by the inventory fuzz
    /// target) instead of reporting an error. Such text is refused here, with its line: outside
    /// strings and comments TOML has only keys, numbers, dates, booleans and its punctuation, and
    /// nowhere control characters but tab. Nil when nothing is amiss.
    static func outsideTOML(_ text: String) -> (line: Int, problem: String)? {
        enum Place { case code, basic, literal, multilineBasic, multilineLiteral, comment }
        let scalars = Array(text.unicodeScalars)
        var place = Place.code
        var line = 1
        var index = 0
        // Where keys start (toml++'s parse_key takes the first character on trust): at a line's
        // start outside arrays and inline tables, inside a table header, after a dot in a key,
        // after `{` and after a comma in an inline table.
        var nesting: [Unicode.Scalar] = []
        var expectKey = true, inKey = false, lineStart = true, header = false
        var dotted = false
        // A key is owed on this line: after `[`, a dot, `{` or a comma in an inline table.
        var keyOwed: Bool { expectKey && (header || dotted || nesting.last == "{") }
        let missingKey = "a key is missing where the line ends (after `[`, a dot, `{` or a comma)"
        func stray(_ scalar: Unicode.Scalar) -> (line: Int, problem: String)? {
            let allowed = scalar.isASCII && (scalar.properties.isAlphabetic || scalar.properties.isASCIIHexDigit
                || "_-+.:=[]{}, \t\r\"'#".unicodeScalars.contains(scalar))
            if allowed { return nil }
            return (line, scalar.isASCII
                ? "\"\(Character(scalar))\" outside a quoted string, where TOML allows none; keys are letters, digits, - and _, values go in quotes"
                : "text that is not ASCII outside a quoted string; keys are plain ASCII, values go in quotes")
        }
        func starts(_ marker: String) -> Bool {
            let marks = Array(marker.unicodeScalars)
            return index + marks.count <= scalars.count && Array(scalars[index..<(index + marks.count)]) == marks
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || scalar.value == 0x7F
                || (scalar == "\r" && (index + 1 == scalars.count || scalars[index + 1] != "\n")) {
                return (line, "a control character (U+\(String(format: "%04X", scalar.value))), which TOML does not allow; is this a text file?")
            }
            if scalar == "\n" {
                if place == .code || place == .comment, keyOwed { return (line, missingKey) }
                line += 1
                if place != .multilineBasic && place != .multilineLiteral { place = .code }
                if nesting.isEmpty { (expectKey, inKey, header, dotted) = (true, false, false, false) }
                lineStart = true
                index += 1
                continue
            }
            switch place {
            case .code where scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "#":
                if scalar == "#" { place = .comment }
            case .code where expectKey:
                defer { lineStart = false }
                let bare = scalar.isASCII && (scalar.properties.isAlphabetic || scalar.properties.isASCIIHexDigit || scalar == "_" || scalar == "-")
                if nesting.isEmpty, lineStart, scalar == "[" {
                    if starts("[[") { index += 1 }
                    header = true
                } else if bare || scalar == "\"" || scalar == "'" {
                    (expectKey, inKey, dotted) = (false, true, false)
                    if scalar == "\"" { place = .basic } else if scalar == "'" { place = .literal }
                } else if scalar == "}", nesting.last == "{" {
                    nesting.removeLast()
                    expectKey = false
                } else {
                    return (line, "\"\(Character(scalar))\" where a key starts, which no key can begin with; keys are letters, digits, - and _, or quoted")
                }
            case .code where inKey:
                if let problem = stray(scalar) { return problem }
                switch scalar {
                case ".": (expectKey, dotted) = (true, true)
                case "=": inKey = false
                case "]" where header:
                    if starts("]]") { index += 1 }
                    (inKey, header) = (false, false)
                default: break
                }
                if scalar == "\"" { place = .basic } else if scalar == "'" { place = .literal }
            case .code:
                switch scalar {
                case "[": nesting.append("[")
                case "{":
                    nesting.append("{")
                    expectKey = true
                case "]" where nesting.last == "[", "}" where nesting.last == "{": nesting.removeLast()
                case "," where nesting.last == "{": expectKey = true
                default: break
                }
                if scalar == "#" {
                    place = .comment
                } else if starts("\"\"\"") {
                    place = .multilineBasic
                    index += 2
                } else if scalar == "\"" {
                    place = .basic
                } else if starts("\'\'\'") {
                    place = .multilineLiteral
                    index += 2
                } else if scalar == "'" {
                    place = .literal
                } else if let problem = stray(scalar) {
                    return problem
                }
            case .basic, .multilineBasic:
                if scalar == "\\" {
                    index += 1  // the escaped character is the string's
                } else if place == .basic, scalar == "\"" {
                    place = .code
                } else if place == .multilineBasic, starts("\"\"\"") {
                    place = .code
                    index += 2
                }
            case .literal:
                if scalar == "'" { place = .code }
            case .multilineLiteral:
                if starts("\'\'\'") {
                    place = .code
                    index += 2
                }
            case .comment:
                break
            }
            index += 1
        }
        if place == .code || place == .comment, keyOwed { return (line, missingKey) }
        return nil
    }

    static func parseCloud(_ value: (any TOMLValueConvertible)?, file: String, lines: [String]) throws(InventoryError) -> CloudSettings {
        guard let value else { return CloudSettings() }
        let header = nthLine(containing: "[cloud]", occurrence: 0, in: lines)
        func fail(_ key: String, _ message: String) -> InventoryError {
            InventoryError(file: file, line: line(of: key, in: lines, after: header) ?? header, key: key, message: message)
        }
        guard let table = value.table else { throw fail("cloud", "must be a table: [cloud]") }
        if table["token"] != nil {
            throw fail("token", "the token does not go in the inventory (it gets committed): put it in an environment variable and name that with token-env")
        }
        let known: Set<String> = ["api", "token-env", "timeout"]
        if let unknown = table.keys.first(where: { !known.contains($0) }) {
            throw fail(unknown, "unknown key in [cloud]; known: \(known.sorted().joined(separator: ", "))")
        }
        var settings = CloudSettings()
        if let api = table["api"] {
            guard let text = api.string, let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw fail("api", "must be the API's base URL, such as \"https://api.particle.io\"")
            }
            settings.api = text
        }
        if let variable = table["token-env"] {
            guard let name = variable.string, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw fail("token-env", "must name an environment variable, such as \"PARTICLE_ACCESS_TOKEN\"")
            }
            settings.tokenVariable = name
        }
        if let timeout = table["timeout"] {
            guard let seconds = timeout.int ?? timeout.double.flatMap({ Self.wholeSeconds($0, rounded: .towardZero) }), (1...3600).contains(seconds) else {
                throw fail("timeout", "must be 1…3600 seconds")
            }
            settings.timeout = .seconds(seconds)
        }
        return settings
    }

    /// TOML allows inf, nan and 1e300, where Int(_:) traps: those are no number of seconds.
    static func wholeSeconds(_ value: Double, rounded rule: FloatingPointRoundingRule) -> Int? {
        let whole = value.rounded(rule)
        return whole.isFinite && abs(whole) <= 1e9 ? Int(whole) : nil
    }

    /// `1-1` or `3-1.4.2`: a bus number, then at least one port, as the kernel names a device.
    static func isHubLocation(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let bus = Int(parts[0]), bus > 0 else { return false }
        let ports = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return !ports.isEmpty && ports.allSatisfy { Int($0).map { (1...255).contains($0) } ?? false }
    }

    /// `count` more emulated boards, cycling through the catalog's platforms.
    public mutating func addEmulated(_ count: Int) {
        let platforms = Platform.catalog.filter { !$0.discontinued }
        for index in 0..<count {
            let platform = platforms[index % platforms.count]
            entries.append(Entry(name: "emulated-\(platform.buildName)-\(index + 1)", platform: platform))
        }
    }

    /// The default inventory when the file is missing: one emulated board per supported platform.
    public static var defaultEmulated: Inventory {
        Inventory(source: "built-in", entries: Platform.catalog.filter { !$0.discontinued }.map { Entry(name: $0.buildName, platform: $0) })
    }

    static func line(of key: String, in lines: [String], after start: Int? = nil) -> Int? {
        let from = (start ?? 1) - 1
        for index in max(0, from)..<lines.count {
            let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(key + " ") || trimmed.hasPrefix(key + "=") { return index + 1 }
            if index > from, trimmed == "[[board]]", start != nil { return nil }
        }
        return nil
    }

    static func nthLine(containing text: String, occurrence: Int, in lines: [String]) -> Int? {
        var seen = 0
        for (index, line) in lines.enumerated() where line.trimmingCharacters(in: .whitespaces) == text {
            if seen == occurrence { return index + 1 }
            seen += 1
        }
        return nil
    }
}

/// A bad inventory: the file, the line and the key, and what is wrong.
public struct InventoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? "")\(key.map { ": key \($0)" } ?? ""): \(message)"
    }
}
