// cairo 2-D graphics with its text API. This module provides no stable Swift API.
#include <cairo/cairo.h>
