// What most test drivers parse before their own code, precompiled once for
// all of them where the compiler is clang (tests/CMakeLists.txt): Boost.Test's
// framework, less the two headers that read BOOST_TEST_MODULE, and the
// standard library. Nothing here is included by a test by name.
#pragma once

#include <boost/test/framework.hpp>
#include <boost/test/test_tools.hpp>
#include <boost/test/tree/auto_registration.hpp>
#include <boost/test/tree/global_fixture.hpp>
#include <boost/test/tree/test_case_template.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>
