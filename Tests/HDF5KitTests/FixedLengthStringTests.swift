import CHDF5
import Foundation
import XCTest
@testable import HDF5Kit

final class FixedLengthStringTests: XCTestCase {
    /// Files from other writers (ITK, older h5py) hold fixed-length strings.
    func test_fixedLengthStringAttribute_isRead() throws {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("fixed.h5")
        try HDF5File(creating: url).close()
        // Written with the C API, since HDF5Kit writes variable-length strings.
        let file = H5Fopen(url.path, ssm_h5f_acc_rdwr(), 0)
        let root = H5Oopen(file, "/", 0)
        let type = H5Tcopy(ssm_h5t_c_s1())
        H5Tset_size(type, 8)
        H5Tset_strpad(type, H5T_STR_NULLPAD)
        let space = H5Screate(H5S_SCALAR)
        let attribute = H5Acreate2(root, "source", type, space, 0, 0)
        H5Awrite(attribute, type, Array("ITK\0\0\0\0\0".utf8))
        H5Aclose(attribute)
        H5Sclose(space)
        H5Tclose(type)
        H5Oclose(root)
        H5Fclose(file)

        XCTAssertEqual(try HDF5File(contentsOf: url).stringAttribute("source"), "ITK")
    }
}
