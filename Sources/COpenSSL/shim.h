#ifndef SSMFLOW_COPENSSL_SHIM_H
#define SSMFLOW_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif
