#ifndef OBWATCH_CCURL_SHIM_H
#define OBWATCH_CCURL_SHIM_H

/*
 * Typed wrappers around libcurl's variadic calls.
 *
 * Swift cannot call C variadic functions, and libcurl reads each option's argument with va_arg using the type the
 * option documents (long, curl_off_t, char *, void *, struct curl_slist *, or a function pointer). Passing any
 * other type is undefined behaviour, so there is exactly one wrapper per argument type and the Swift side picks the
 * wrapper that matches the option.
 */

#include <curl/curl.h>

/* One-time process setup (curl_global_init takes a flag set that is a macro expression). */
static inline CURLcode ccurl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl_easy_setopt, one wrapper per argument type. */

static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* Callbacks: the option is fixed by the wrapper so a callback can never be installed under the wrong option. */

static inline CURLcode ccurl_easy_set_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/* The header callback has the write callback's signature; libcurl has no separate typedef for it. */
static inline CURLcode ccurl_easy_set_header_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

static inline CURLcode ccurl_easy_set_read_function(CURL *handle, curl_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

static inline CURLcode ccurl_easy_set_xferinfo_function(CURL *handle, curl_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/* Options whose spelling or existence depends on the libcurl version. */

/*
 * Restricts the protocols a transfer may use, both for the first request and for redirects. The names form a
 * comma-separated list ("http,https"); the bit mask is the same set for libcurl older than 7.85.0, which only has
 * the (now deprecated) bit-mask options.
 */
static inline CURLcode ccurl_easy_set_allowed_protocols(CURL *handle, const char *names, long mask) {
#if LIBCURL_VERSION_NUM >= 0x075500
    (void)mask;
    CURLcode code = curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, names);
    if (code != CURLE_OK) {
        return code;
    }
    return curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, names);
#else
    (void)names;
    CURLcode code = curl_easy_setopt(handle, CURLOPT_PROTOCOLS, mask);
    if (code != CURLE_OK) {
        return code;
    }
    return curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS, mask);
#endif
}

/* Whether an SMTP transfer goes on when some recipients are refused; spelt with three Ls before 8.2.0. */
static inline CURLcode ccurl_easy_set_mail_rcpt_allow_fails(CURL *handle, long allow) {
#if LIBCURL_VERSION_NUM >= 0x080200
    return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLOWFAILS, allow);
#elif LIBCURL_VERSION_NUM >= 0x074500
    return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLLOWFAILS, allow);
#else
    (void)handle;
    /* Older libcurl always fails the transfer on a refused recipient, which is what callers ask for by default. */
    return allow == 0 ? CURLE_OK : CURLE_UNKNOWN_OPTION;
#endif
}

/* curl_easy_getinfo, one wrapper per result type. */

static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* curl_multi_setopt, for the long-valued options. */

static inline CURLMcode ccurl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/* The built-in CA directory (7.84.0+), so a caller's CA file can be added to the system trust store. */
static inline const char *ccurl_default_ca_path(void) {
#if LIBCURL_VERSION_NUM >= 0x075400
    CURL *handle = curl_easy_init();
    if (handle == NULL) {
        return NULL;
    }
    char *path = NULL;
    const char *result = NULL;
    if (curl_easy_getinfo(handle, CURLINFO_CAPATH, &path) == CURLE_OK) {
        result = path;
    }
    curl_easy_cleanup(handle);
    /* The string is libcurl's static built-in default, so it outlives the handle. */
    return result;
#else
    return NULL;
#endif
}

#endif
