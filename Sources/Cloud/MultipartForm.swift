import Foundation

/// A `multipart/form-data` body (RFC 7578), as the cloud API takes files.
struct MultipartForm {
    enum Part {
        case field(name: String, value: String)
        case file(name: String, fileName: String, bytes: [UInt8])
    }

    var parts: [Part]
    let boundary = "otabench-" + UUID().uuidString

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    var body: [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            body += Array("--\(boundary)\r\n".utf8)
            switch part {
            case .field(let name, let value):
                body += Array("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
            case .file(let name, let fileName, let bytes):
                body += Array("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(fileName)\"\r\n".utf8)
                body += Array("Content-Type: application/octet-stream\r\n\r\n".utf8)
                body += bytes + Array("\r\n".utf8)
            }
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }
}
