// SPDX-License-Identifier: MIT
// The global runner's free functions spelled like an EventLoopThreadRunner's members, so that
// one test body can drive either. Test code only.
#pragma once

#include <palitra/global.h>

#include <utility>

namespace palitra::test {

struct GlobalApi {
    template<typename... A>
    auto run(A &&...a) {
        return palitra::run(std::forward<A>(a)...);
    }
    template<typename... A>
    auto gather(A &&...a) {
        return palitra::gather(std::forward<A>(a)...);
    }
    template<typename... A>
    auto gatherOutcomes(A &&...a) {
        return palitra::gatherOutcomes(std::forward<A>(a)...);
    }
};

} // namespace palitra::test
