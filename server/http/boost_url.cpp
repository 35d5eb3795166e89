// Boost.URL, compiled once into this library (header-only use: <boost/url/src.hpp>).
#include <boost/url/src.hpp>
