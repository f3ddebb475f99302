import Foundation
import TestSupport
import Testing

/// The qualification report in a real browser: Debian's Chromium, headless.
@Suite("Qualification report in Chromium", .serialized, .timeLimit(.minutes(3)))
struct ReportBrowserTests {
    /// What a release manager would see: the verdict is there and the page raised nothing.
    static func problems(_ rendering: HeadlessChromium.Rendering, verdict: String) -> [String] {
        var problems = rendering.console.map { "console: \($0)" }
        if !rendering.dom.contains("data-verdict=\"\(verdict)\"") {
            problems.append(rendering.dom.contains("id=\"verdict\"") ? "the page shows another verdict than \(verdict)" : "no verdict on the page")
        }
        return problems
    }

    @Test("The qualification report renders in headless Chromium with its verdict, a screenshot, and no console errors")
    func rendersCleanly() async throws {
        let folder = try temporaryFolder("report-browser")
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"boron\"\nplatform = \"boron\"\n\n[[board]]\nname = \"photon\"\nplatform = \"photon\"\n"
            .write(to: inventory, atomically: true, encoding: .utf8)
        let reports = folder.appendingPathComponent("reports")
        let result = try await OtabenchProcess.run(["qualify", "--release", "browser-check", "--inventory", inventory.path, "--report-dir", reports.path])
        #expect(result.status == 0, "\(result.standardError)")
        let screenshot = folder.appendingPathComponent("qualification.png")
        let rendering = try await HeadlessChromium.render(reports.appendingPathComponent("qualification.html"), screenshot: screenshot)
        #expect(Self.problems(rendering, verdict: "PASS").isEmpty, "\(Self.problems(rendering, verdict: "PASS"))")
        #expect(rendering.dom.contains("Power-cut coverage") && rendering.dom.contains("<circle"))
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "a real screenshot: \(png.count) bytes")
    }

    @Test("The check itself catches a page that throws and a page without its verdict")
    func catchesBrokenPages() async throws {
        let folder = try temporaryFolder("report-browser-bad")
        let throwing = folder.appendingPathComponent("throwing.html")
        try "<!DOCTYPE html><html><body><p id=\"verdict\" data-verdict=\"PASS\">PASS</p><script>missingFunction()</script></body></html>"
            .write(to: throwing, atomically: true, encoding: .utf8)
        let thrown = Self.problems(try await HeadlessChromium.render(throwing), verdict: "PASS")
        #expect(thrown.contains { $0.contains("missingFunction is not defined") }, "\(thrown)")

        let empty = folder.appendingPathComponent("empty.html")
        try "<!DOCTYPE html><html><body><h1>Qualification</h1></body></html>".write(to: empty, atomically: true, encoding: .utf8)
        #expect(Self.problems(try await HeadlessChromium.render(empty), verdict: "PASS") == ["no verdict on the page"])
    }
}
