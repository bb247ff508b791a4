#ifndef OBWATCH_COPENSSL_SHIM_H
#define OBWATCH_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/*
 * Turns off PKCS#1 v1.5 "implicit rejection" on a decryption context.
 *
 * OpenSSL 3.2 and later answer a badly padded block with pseudo-random bytes instead of an error, unless this
 * parameter is 0. obshell's server (Go's rsa.DecryptPKCS1v15) reports such a block as an error, and so must we.
 * The parameter name is spelled out because 3.0 headers do not define OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION;
 * a 3.0 provider ignores a parameter it does not know and returns 1.
 * Returns 1 on success, like EVP_PKEY_CTX_set_params.
 */
static inline int obw_rsa_disable_implicit_rejection(EVP_PKEY_CTX *ctx) {
    unsigned int off = 0;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_uint("rsa_pkcs1_implicit_rejection", &off);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_PKEY_CTX_set_params(ctx, params);
}

#endif
