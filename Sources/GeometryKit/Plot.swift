import CVTKShim
import Foundation

/// Charts to PNG, rendered off-screen by VTK: training curves, and the
/// comparison of original and generated PCA scores.
public enum Plot {
    /// One line of a line plot.
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]

        public init(name: String, x: [Double], y: [Double]) {
            precondition(x.count == y.count, "series '\(name)' has \(x.count) x but \(y.count) y values")
            self.name = name
            self.x = x
            self.y = y
        }
    }

    /// A named set of points in K dimensions (one row per point).
    public struct Group: Sendable {
        public var name: String
        public var rows: [[Double]]

        public init(name: String, rows: [[Double]]) {
            self.name = name
            self.rows = rows
        }
    }

    /// A line plot of several series with a legend; `logY` for a logarithmic
    /// y axis (values ≤ 0 are left out).
    public static func lines(_ series: [Series], title: String, xLabel: String, yLabel: String,
                             logY: Bool = false, width: Int = 900, height: Int = 600,
                             to url: URL) throws {
        try draw(CVTK_FIGURE_LINES, title: title, labels: [xLabel, yLabel], logY: logY,
                 groups: series.map { s in (s.name, zip(s.x, s.y).flatMap { [$0, $1] }, s.x.count, 2) },
                 width: width, height: height, to: url)
    }

    /// A K × K scatter-plot matrix of the groups (each pair of dimensions;
    /// densities on the diagonal), e.g. original vs generated PCA scores.
    public static func scatterMatrix(_ groups: [Group], labels: [String], title: String,
                                     size: Int = 1200, to url: URL) throws {
        try draw(CVTK_FIGURE_SCATTER_MATRIX, title: title, labels: labels, logY: false,
                 groups: try table(groups, dimensions: labels.count), width: size, height: size, to: url)
    }

    /// One density histogram per dimension, every group overlaid.
    public static func histograms(_ groups: [Group], labels: [String], title: String,
                                  width: Int = 1200, height: Int = 700, to url: URL) throws {
        try draw(CVTK_FIGURE_HISTOGRAMS, title: title, labels: labels, logY: false,
                 groups: try table(groups, dimensions: labels.count), width: width, height: height,
                 to: url)
    }

    private static func table(_ groups: [Group], dimensions k: Int) throws
        -> [(String, [Double], Int, Int)] {
        try groups.map { g in
            if let bad = g.rows.firstIndex(where: { $0.count != k }) {
                throw VTKError("cannot plot group '\(g.name)': row \(bad) has \(g.rows[bad].count) "
                    + "values but there are \(k) labels; pass one label per dimension")
            }
            return (g.name, g.rows.flatMap { $0 }, g.rows.count, k)
        }
    }

    private static func draw(_ kind: cvtk_figure_kind, title: String, labels: [String], logY: Bool,
                             groups: [(name: String, values: [Double], rows: Int, columns: Int)],
                             width: Int, height: Int, to url: URL) throws {
        try OffscreenDisplay.ensure()
        var raw: OpaquePointer?
        try vtkCall { cvtk_figure_create(kind, title, &raw, $0) }
        guard let figure = raw else { throw VTKError("the VTK layer returned no figure") }
        defer { cvtk_figure_free(figure) }
        for g in groups {
            try vtkCall { cvtk_figure_add_group(figure, g.name, g.values, Int64(g.rows), Int64(g.columns), $0) }
        }
        for (i, label) in labels.enumerated() {
            try vtkCall { cvtk_figure_set_label(figure, Int32(i), label, $0) }
        }
        cvtk_figure_set_log_y(figure, logY ? 1 : 0)
        do {
            try vtkCall { cvtk_figure_write_png(figure, Int32(width), Int32(height), url.path, $0) }
        } catch let error as VTKError {
            throw VTKError("cannot draw '\(title)' to \(url.path): \(error.message)")
        }
    }
}
