// ttscale/config.hpp: version and namespace macros shared by every header.
//
// All public names live in `ttscale::v0` (an inline namespace, as fmt does), so
// two incompatible versions linked into one program fail at link time instead
// of silently mixing layouts.
#pragma once

#define TTSCALE_VERSION_MAJOR 0
#define TTSCALE_VERSION_MINOR 1
#define TTSCALE_VERSION_PATCH 0

#define TTSCALE_BEGIN_NAMESPACE namespace ttscale { inline namespace v0 {
#define TTSCALE_END_NAMESPACE } }
