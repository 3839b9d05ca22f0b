// SPDX-License-Identifier: MIT
// Private (torch) header: the checkpoint file format.
#pragma once

#include "core/common/error.h"

#include <torch/torch.h>

#include <QByteArray>
#include <QJsonObject>

#include <map>
#include <string>

namespace fcl::detail {

/// Named tensors plus a JSON header: what a checkpoint holds. Serialised as
///
///     "FCLCKPT\0" | u32 format version | u32 header length | header (UTF-8 JSON)
///     | u32 tensor count | per tensor: u16 name length, name, u8 dtype, u8 rank,
///       i64 dims[rank], u64 byte count, raw bytes | u64 FNV-1a checksum of all that precedes
///
/// little-endian, tensors in name order. dtype codes: 0 float32, 1 float64, 2 int64, 3 int32,
/// 4 uint8, 5 bool. Deterministic: the same content gives the same bytes. A file with another
/// magic, a newer version, a short read or a wrong checksum is an Error, never a crash.
class TensorArchive {
public:
    static constexpr quint32 kFormatVersion = 1;

    void put(const std::string &name, const torch::Tensor &tensor);
    bool contains(const std::string &name) const { return m_tensors.count(name) > 0; }
    /// The tensor, or an undefined tensor when absent.
    torch::Tensor get(const std::string &name) const;
    /// Names starting with `prefix`, in order.
    std::vector<std::string> names(const std::string &prefix = {}) const;

    QJsonObject &header() { return m_header; }
    const QJsonObject &header() const { return m_header; }

    QByteArray serialize() const;
    /// `what` names the source in errors ("checkpoint of run 3").
    static Result<TensorArchive> deserialize(const QByteArray &bytes, const QString &what);

    /// An ordered list under `prefix` ("prefix/00003/name"), read back in the same order.
    void putList(const std::string &prefix,
                 const std::vector<std::pair<std::string, torch::Tensor>> &list);
    std::vector<std::pair<std::string, torch::Tensor>> getList(const std::string &prefix) const;

private:
    QJsonObject m_header;
    std::map<std::string, torch::Tensor> m_tensors;
};

} // namespace fcl::detail
