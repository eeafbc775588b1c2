#ifndef SSMFLOW_CHDF5_SHIM_H
#define SSMFLOW_CHDF5_SHIM_H
#include <hdf5.h>
#endif
