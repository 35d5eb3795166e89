// Private to transport/: what the Beast-based files share -- Boost and
// system includes and the namespace aliases. Included only by
// transport/http_server.cpp and transport/http_client.cpp, the translation
// units of transport/ that see Beast, through the other headers of
// transport/beast/.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "transport/http_server.h"

namespace litemcp::transport {

using namespace std::string_view_literals;  // literals appended without strlen

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

}  // namespace litemcp::transport
