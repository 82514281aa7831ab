#ifndef TAILCAST_CSYSTEMD_SHIM_H
#define TAILCAST_CSYSTEMD_SHIM_H
#include <systemd/sd-journal.h>
#include <stdlib.h>
#endif
