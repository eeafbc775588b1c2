import Foundation

/// A run as one self-contained HTML page: workflow, parameters, the stage
/// table, then sections of figures (PNG embedded as base64) and tables. It
/// needs no network and no other file to be read.
public struct RunReport: Sendable {
    /// One stage of the run, as the stage table shows it.
    public struct StageRow: Sendable {
        public var stage: String
        public var kind: String
        /// `ran`, `cached`, `failed`, `skipped` or `cancelled`.
        public var outcome: String
        public var reasons: [String]
        public var seconds: Double
        public var metrics: [String: Double]
        public var error: String?

        public init(stage: String, kind: String, outcome: String, reasons: [String], seconds: Double,
                    metrics: [String: Double] = [:], error: String? = nil) {
            self.stage = stage
            self.kind = kind
            self.outcome = outcome
            self.reasons = reasons
            self.seconds = seconds
            self.metrics = metrics
            self.error = error
        }
    }

    /// A piece of a section.
    public enum Block: Sendable {
        case paragraph(String)
        /// A PNG with its caption.
        case figure(caption: String, png: Data)
        /// Figures side by side, `columns` per row.
        case gallery(columns: Int, figures: [(caption: String, png: Data)])
        case table(header: [String], rows: [[String]], caption: String?)
    }

    /// A titled part of the page; `anchor` is its HTML id.
    public struct Section: Sendable {
        public var anchor: String
        public var title: String
        public var blocks: [Block]

        public init(anchor: String, title: String, blocks: [Block]) {
            self.anchor = anchor
            self.title = title
            self.blocks = blocks
        }
    }

    public var workflow: String
    /// Lines under the title: run id, start, duration, profile, overrides.
    public var facts: [(String, String)]
    /// Stage id → parameter name → value, as text.
    public var parameters: [String: [String: String]]
    public var stages: [StageRow]
    public var sections: [Section]

    public init(workflow: String, facts: [(String, String)], parameters: [String: [String: String]],
                stages: [StageRow], sections: [Section]) {
        self.workflow = workflow
        self.facts = facts
        self.parameters = parameters
        self.stages = stages
        self.sections = sections
    }

    /// The page.
    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(escape(workflow)) — SSMFlow run</title>
            <style>\(Self.css)</style></head><body>
            <h1>\(escape(workflow))</h1>

            """
        out += "<table class=\"facts\">" + facts.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined() + "</table>\n"
        out += "<nav>" + (["stages", "parameters"] + sections.map(\.anchor)).map { anchor in
            let title = anchor == "stages" ? "Stages" : anchor == "parameters" ? "Parameters"
                : sections.first { $0.anchor == anchor }!.title
            return "<a href=\"#\(anchor)\">\(escape(title))</a>"
        }.joined(separator: " · ") + "</nav>\n"
        out += stageTable()
        out += parameterTables()
        for section in sections {
            out += "<section id=\"\(escape(section.anchor))\"><h2>\(escape(section.title))</h2>\n"
            for block in section.blocks { out += render(block) }
            out += "</section>\n"
        }
        out += "<footer>Written by SSMFlow. Images are embedded; this file is complete on its own.</footer>\n"
        return out + "</body></html>\n"
    }

    private func stageTable() -> String {
        var out = "<section id=\"stages\"><h2>Stages</h2>\n<table class=\"data\"><tr><th>stage</th><th>kind</th>"
            + "<th>outcome</th><th>time</th><th>why</th><th>metrics</th></tr>\n"
        for s in stages {
            let why = (s.reasons + (s.error.map { ["error: \($0)"] } ?? [])).map(escape).joined(separator: "<br>")
            let metrics = s.metrics.keys.sorted().map { "\(escape($0)) = \(Self.number(s.metrics[$0]!))" }
                .joined(separator: "<br>")
            out += "<tr><td>\(escape(s.stage))</td><td>\(escape(s.kind))</td>"
                + "<td class=\"\(escape(s.outcome))\">\(escape(s.outcome))</td>"
                + "<td class=\"num\">\(Self.duration(s.seconds))</td><td>\(why)</td><td>\(metrics)</td></tr>\n"
        }
        let total = stages.reduce(0) { $0 + $1.seconds }
        let ran = stages.filter { $0.outcome == "ran" }.count, cached = stages.filter { $0.outcome == "cached" }.count
        out += "</table><p>\(ran) ran, \(cached) cached, \(stages.count - ran - cached) other; "
            + "stage time \(Self.duration(total)).</p></section>\n"
        return out
    }

    private func parameterTables() -> String {
        var out = "<section id=\"parameters\"><h2>Parameters</h2>\n<div class=\"params\">"
        for stage in parameters.keys.sorted() {
            let values = parameters[stage]!
            out += "<table class=\"data\"><caption>\(escape(stage))</caption>"
            if values.isEmpty { out += "<tr><td><em>defaults only</em></td></tr>" }
            for name in values.keys.sorted() {
                out += "<tr><th>\(escape(name))</th><td>\(escape(values[name]!))</td></tr>"
            }
            out += "</table>\n"
        }
        return out + "</div></section>\n"
    }

    private func render(_ block: Block) -> String {
        switch block {
        case .paragraph(let text):
            return "<p>\(escape(text))</p>\n"
        case .figure(let caption, let png):
            return Self.figure(caption, png)
        case .gallery(let columns, let figures):
            return "<div class=\"gallery\" style=\"grid-template-columns: repeat(\(max(1, columns)), 1fr)\">"
                + figures.map { Self.figure($0.caption, $0.png) }.joined() + "</div>\n"
        case .table(let header, let rows, let caption):
            var out = "<table class=\"data\">" + (caption.map { "<caption>\(escape($0))</caption>" } ?? "")
            out += "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for row in rows {
                out += "<tr>" + row.map { cell in
                    Double(cell) != nil ? "<td class=\"num\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
                }.joined() + "</tr>\n"
            }
            return out + "</table>\n"
        }
    }

    private static func figure(_ caption: String, _ png: Data) -> String {
        "<figure><img alt=\"\(escape(caption))\" src=\"data:image/png;base64,\(png.base64EncodedString())\">"
            + "<figcaption>\(escape(caption))</figcaption></figure>\n"
    }

    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e9 { return String(Int(v)) }
        return abs(v) >= 0.01 && abs(v) < 1e5 ? String(format: "%.4g", v) : String(format: "%.3e", v)
    }

    static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }

    static let css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
        h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
        nav{margin:.8em 0 1em}nav a{color:#1f77b4}
        table.facts th{text-align:left;padding-right:1em;color:#555;font-weight:normal}
        table.data{border-collapse:collapse;margin:.6em 0;font-size:.92em}
        table.data th,table.data td{border:1px solid #ddd;padding:.25em .6em;vertical-align:top}
        table.data th{background:#f4f4f4;text-align:left}
        table.data caption{font-weight:bold;text-align:left;padding:.3em 0}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        td.ran{color:#2c7d2c;font-weight:bold}td.cached{color:#1f77b4}td.failed{color:#c62828;font-weight:bold}
        td.skipped,td.cancelled{color:#888}
        .params{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
        figure{margin:.6em 0}figure img{max-width:100%;border:1px solid #eee}
        figcaption{color:#555;font-size:.9em}
        .gallery{display:grid;gap:.8em}
        footer{margin-top:3em;color:#888;font-size:.85em}
        """
}

/// Text made safe for HTML element content and attribute values.
private func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
