#ifndef TAILCAST_CNATS_SHIM_H
#define TAILCAST_CNATS_SHIM_H
#include <nats/nats.h>
#include <stdlib.h>
#endif
