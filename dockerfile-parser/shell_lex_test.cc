#include "dockerfile-parser/shell_lex.h"

#include <gtest/gtest.h>
