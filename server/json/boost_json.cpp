// Boost.JSON's compiled part (error categories, number parsing), built here
// once: the library is used header-only (Boost's documented src.hpp).
#include <boost/json/src.hpp>
