@testable import Bench
import Foundation
import TestSupport
import Testing

@Suite("Inventory")
struct InventoryTests {
    @Test("The default inventory has one emulated board per supported platform")
    func defaultInventory() throws {
        let file = Fixtures.repositoryRoot.appendingPathComponent("Boards/emulated.toml").path
        let inventory = try Inventory.load(file)
        #expect(Set(inventory.entries.map(\.platform.buildName)) == Set(Inventory.defaultEmulated.entries.map(\.platform.buildName)))
        #expect(inventory.entries.allSatisfy { $0.emulated })
        var more = inventory
        more.addEmulated(30)
        #expect(more.entries.count == inventory.entries.count + 30)
        #expect(Set(more.entries.map(\.name)).count == more.entries.count)
    }

    @Test("A bad inventory names the file, the line and the key", arguments: [
        ("[[board]]\nname = \"a\"\nplatform = \"zebra\"\n", 3, "platform", "unknown platform \"zebra\""),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\n\n[[board]]\nname = \"a\"\nplatform = \"p2\"\n", 6, "name", "appears twice"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ncolour = \"red\"\n", 4, "colour", "unknown key"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndefects = [\"gremlins\"]\n", 4, "defects", "unknown defect"),
        ("[[board]]\nplatform = \"boron\"\n", 1, "name", "needs a name"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = \"yes\"\n", 4, "emulated", "true or false"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = false\n", 4, "emulated", "needs its device-id"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"123\"\n", 5, "device-id", "24 hex digits"),
    ])
    func errors(_ text: String, _ line: Int, _ key: String, _ message: String) {
        let error = #expect(throws: InventoryError.self) { try Inventory.parse(text, file: "Boards/lab.toml") }
        #expect(error?.file == "Boards/lab.toml")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.key == key)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test("A TOML syntax error gives its line")
    func syntaxError() {
        let error = #expect(throws: InventoryError.self) { try Inventory.parse("[[board]]\nname = \"a\nplatform = 3\n", file: "x.toml") }
        #expect(error?.line == 2, "\(String(describing: error))")
    }
}
