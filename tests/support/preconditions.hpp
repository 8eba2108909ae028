// What a test needs from the machine it runs on, as Boost.Test preconditions:
// a test whose need is not met is reported as skipped, with the reason,
// instead of passing without having checked anything.
//
//   BOOST_AUTO_TEST_CASE(name, *boost::unit_test::precondition(test::another_file_system_at_dev_shm))
#pragma once

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace ndrd::test {

// /dev/shm, writable and on another file system than the temp directory:
// where moves become copies (EXDEV) instead of renames.
inline boost::test_tools::assertion_result another_file_system_at_dev_shm(boost::unit_test::test_unit_id /*unused*/)
{
    const auto tmp = std::filesystem::temp_directory_path();
    struct stat shm {};
    struct stat temp {};
    const bool usable = ::stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) && ::access("/dev/shm", W_OK) == 0;
    const bool other = usable && ::stat(tmp.c_str(), &temp) == 0 && shm.st_dev != temp.st_dev;
    boost::test_tools::assertion_result r(other);
    if (!usable) {
        r.message() << "no writable /dev/shm";
    } else if (!other) {
        r.message() << "/dev/shm is on the same file system as " << tmp.string();
    }
    return r;
}

} // namespace ndrd::test
