#include "policy/cli.h"
