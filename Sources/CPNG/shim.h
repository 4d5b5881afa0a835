// libpng 1.6. This module provides no stable Swift API.
#include <png.h>
