// Checks the package against the module layout of DESIGN.md ("Package layout"): lower modules
// never import higher ones. Reads the targets' declared dependencies from
// `swift package dump-package` and every `import` in Sources/ and Scenarios/ (SwiftPM lets a
// module import what it only reaches transitively, so the imports are checked too).
//
//   Scripts/check-layers        exit 0 when the layout holds, 1 naming each wrong arrow
//
// `drift` lists the arrows the code has that the layout forbids (none since issue 16).
// The check fails on any new one, and on a listed one that is gone (so the list only shrinks).
import Foundation

/// What each module may use, of ours: DESIGN's "depends on" column. C system-library targets
/// and other packages' products are not layers and are not checked here.
let allowed: [String: Set<String>] = [
    "Firmware": [],
    "Links": [],
    "DFU": ["Links", "Firmware"],
    "ControlRequests": ["Links", "Firmware"],
    "Serial": ["Links", "Firmware", "CSerialPort"],
    "CloudOTA": ["Links", "Firmware"],
    "USB": ["Links"],
    "Power": ["Links", "USB"],
    "Emulator": ["Firmware", "Links", "DFU", "ControlRequests", "Serial", "CloudOTA"],
    "EmulatorServers": ["Emulator", "Firmware", "Links", "Serial", "CUMockdev"],
    "Cloud": ["Firmware", "CloudOTA"],
    "LocalCloud": ["Firmware", "CloudOTA", "Cloud", "Links"],
    "ScenarioAPI": ["Firmware", "Links"],
    // The cloud facet drives Particle's REST API (Cloud) and, for emulated boards, the local
    // device cloud; a board on a pseudo-terminal is served by EmulatorServers. DESIGN's
    // "protocol modules" and "Emulator" are read to cover these.
    "Boards": ["ScenarioAPI", "Firmware", "Links", "DFU", "ControlRequests", "Serial", "CloudOTA", "USB", "Power", "Emulator",
               "EmulatorServers", "Cloud", "LocalCloud"],
    // Bench runs the scenario library (DESIGN's table has the nightly suite in Bench). Firmware
    // and Links are the scenario API's own vocabulary (platforms, images, the clock).
    "Bench": ["ScenarioAPI", "Boards", "Scenarios", "Firmware", "Links"],
    "Scenarios": ["ScenarioAPI"],
    "otabench": ["Bench", "Firmware"],
]

/// Arrows the layout forbids that the code still has. Issue 16 moved the last one out; an entry
/// here is a debt named on purpose, and the check fails once it is paid and still listed.
let drift: [String: Set<String>] = [:]

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : FileManager.default.currentDirectoryPath)

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("check-layers: \(message)\n".utf8))
    exit(2)
}

func dumpPackage() -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["swift", "package", "--package-path", root.path, "dump-package"]
    let output = Pipe()
    process.standardOutput = output
    do { try process.run() } catch { fail("cannot run swift package dump-package: \(error)") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        fail("swift package dump-package failed (status \(process.terminationStatus))")
    }
    return json
}

struct Target {
    var name: String
    var path: String
    var dependencies: Set<String>
}

let package = dumpPackage()
let ourNames = Set((package["targets"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
let targets: [Target] = (package["targets"] as? [[String: Any]] ?? []).compactMap { target in
    guard let name = target["name"] as? String, allowed[name] != nil else { return nil }
    let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency -> String? in
        // byName and target name one of ours; product names another package's.
        guard let value = (dependency["byName"] ?? dependency["target"]) as? [Any] else { return nil }
        return value.first as? String
    }
    let path = (target["path"] as? String) ?? (name == "Scenarios" ? "Scenarios" : "Sources/\(name)")
    return Target(name: name, path: path, dependencies: Set(dependencies).intersection(ourNames))
}
if Set(targets.map(\.name)) != Set(allowed.keys) {
    fail("the layout names \(Set(allowed.keys).subtracting(targets.map(\.name)).sorted()) that the package does not have; update Scripts/CheckLayers/main.swift with DESIGN.md")
}

let accessLevels: Set<String> = ["public", "package", "internal", "fileprivate", "private", "open"]
let importKinds: Set<String> = ["struct", "class", "enum", "protocol", "typealias", "func", "var", "let", "actor"]

/// Our modules a target's sources import.
func imports(under folder: String) -> Set<String> {
    var found: Set<String> = []
    let base = root.appendingPathComponent(folder)
    guard let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
    for case let file as URL in files where file.pathExtension == "swift" {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n") {
            // [@attributes] [access level] import [kind] Module[.Symbol]
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let index = words.firstIndex(of: "import"),
                  words[..<index].allSatisfy({ $0.hasPrefix("@") || accessLevels.contains($0) }) else { continue }
            var rest = words[(index + 1)...].drop { importKinds.contains($0) }
            guard let name = rest.popFirst() else { continue }
            let module = name.split(separator: ".").first.map(String.init) ?? ""
            if ourNames.contains(module) { found.insert(module) }
        }
    }
    return found
}

var problems: [String] = []
for target in targets.sorted(by: { $0.name < $1.name }) {
    let uses = target.dependencies.union(imports(under: target.path))
    let permitted = allowed[target.name]!
    let known = drift[target.name] ?? []
    let systemLibraries = Set(uses.filter { $0.hasPrefix("C") && !allowed.keys.contains($0) })
    for wrong in uses.subtracting(permitted).subtracting(known).subtracting(systemLibraries.subtracting(known)).sorted() {
        problems.append("\(target.name) uses \(wrong): DESIGN.md's layout does not let it")
    }
    for gone in known.subtracting(uses).sorted() {
        problems.append("\(target.name) no longer uses \(gone): take it out of `drift` in Scripts/CheckLayers/main.swift")
    }
}
// C system-library targets are not layers, with one exception: umockdev is for EmulatorServers,
// so a module that uses it and is not listed as drifting is also wrong.
for target in targets where target.name != "EmulatorServers" && target.dependencies.union(imports(under: target.path)).contains("CUMockdev")
    && !(drift[target.name] ?? []).contains("CUMockdev") {
    problems.append("\(target.name) uses CUMockdev: only the OS-boundary servers may")
}

if problems.isEmpty {
    print("check-layers: \(targets.count) modules hold the layout (\(drift.values.map(\.count).reduce(0, +)) known drifting arrows left)")
    exit(0)
}
for problem in problems { FileHandle.standardError.write(Data("check-layers: \(problem)\n".utf8)) }
exit(1)
