import CVTKShim
import Foundation

/// An 8-bit raster image decoded from a PNG (rows bottom-up, as VTK stores
/// them), with the pixel statistics that tell a real picture from a blank one.
public struct RasterImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Channels per pixel (3 RGB, 4 RGBA, 1 grey).
    public var components: Int
    public var pixels: [UInt8]

    /// Decodes a PNG file.
    public static func readPNG(from url: URL) throws -> RasterImage {
        var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
        var buffer: UnsafeMutablePointer<UInt8>?
        try vtkCall { cvtk_png_read(url.path, &width, &height, &components, &buffer, $0) }
        defer { cvtk_free_pixels(buffer) }
        let count = Int(width) * Int(height) * Int(components)
        return RasterImage(width: Int(width), height: Int(height), components: Int(components),
                           pixels: Array(UnsafeBufferPointer(start: buffer, count: count)))
    }

    /// RGB of pixel (x, y), y counted from the bottom.
    public func rgb(_ x: Int, _ y: Int) -> SIMD3<Int> {
        let i = (y * width + x) * components
        if components < 3 { return SIMD3(repeating: Int(pixels[i])) }
        return SIMD3(Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
    }

    /// Variance of the grey level over all pixels (0 for a blank image).
    public var greyVariance: Double {
        let n = width * height
        guard n > 0 else { return 0 }
        var sum = 0.0, squares = 0.0
        for y in 0..<height {
            for x in 0..<width {
                let c = rgb(x, y)
                let grey = Double(c.x + c.y + c.z) / 3
                sum += grey
                squares += grey * grey
            }
        }
        let mean = sum / Double(n)
        return squares / Double(n) - mean * mean
    }

    /// Fraction of pixels whose channels differ by more than `threshold`
    /// (saturated colour, not white, grey or black).
    public func colouredFraction(threshold: Int = 60) -> Double {
        let n = width * height
        guard n > 0 else { return 0 }
        var coloured = 0
        for y in 0..<height {
            for x in 0..<width {
                let c = rgb(x, y)
                if max(c.x, c.y, c.z) - min(c.x, c.y, c.z) > threshold { coloured += 1 }
            }
        }
        return Double(coloured) / Double(n)
    }
}
