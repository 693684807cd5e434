#include "custos/attestation.h"
