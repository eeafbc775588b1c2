#ifndef SSMFLOW_CHDF5_SHIM_H
#define SSMFLOW_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type, property-list and flag constants are macros that call H5open();
   Swift cannot import them, so these inline functions expose their values. */
static inline hid_t ssm_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t ssm_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ssm_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t ssm_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ssm_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t ssm_h5t_c_s1(void) { return H5T_C_S1; }

static inline hid_t ssm_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t ssm_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t ssm_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t ssm_h5p_group_create(void) { return H5P_GROUP_CREATE; }
static inline hid_t ssm_h5p_dataset_access(void) { return H5P_DATASET_ACCESS; }

static inline unsigned ssm_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ssm_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned ssm_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }

#endif
