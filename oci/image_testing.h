// Test helpers: real layers (tar + gzip built in memory) and complete small images, for tests
// that hand images to skopeo, umoci and docker.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/image_config.h"
#include "oci/media_types.h"
#include "util/result.h"

namespace ocibuild::oci::testing {

struct TestFile {
  std::string path;  // relative, e.g. "etc/hello.txt"; a trailing '/' makes a directory
  std::string content;
  int mode = 0644;
};

struct TestLayer {
  std::string tar;   // uncompressed
  std::string gzip;  // the blob
  Digest diff_id;    // sha256 of tar
};

Result<TestLayer> MakeLayer(const std::vector<TestFile>& files);

// Stores one gzip layer per entry of `layers` and a config for linux/<host arch> with the given
// Cmd/Env/Labels; returns the manifest descriptor (written in `format`).
struct TestImageSpec {
  std::vector<std::vector<TestFile>> layers;
  ContainerConfig config;
  MediaFormat format = MediaFormat::kOci;
};
Result<Descriptor> WriteTestImage(ContentStore& store, const TestImageSpec& spec,
                                  ImageConfig* config_out = nullptr);

// Entries of a tar file in order: name -> content (directories map to "<dir>").
struct TarEntry {
  std::string name;
  std::string content;
  bool dir = false;
};
Result<std::vector<TarEntry>> ReadTar(const std::string& path);

}  // namespace ocibuild::oci::testing
