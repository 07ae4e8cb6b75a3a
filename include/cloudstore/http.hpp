// The HTTP transport over Beast: bodies, endpoints, the exchange in both faces.
#pragma once

#include <cloudstore/http/body.hpp>
#include <cloudstore/http/transport.hpp>
