#ifndef OBWATCH_CYAML_SHIM_H
#define OBWATCH_CYAML_SHIM_H
#include <yaml.h>
#endif
