// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

#include <optional>
#include <utility>
#include <vector>

namespace fcl {

/// An expected failure: where it happened (a JSON field path, a file and byte offset, a line) and
/// why, in words a user can act on. Plain value type, any thread.
struct Error {
    QString where;
    QString message;

    /// "where: message", or just the message when there is no place to name; on one line, with
    /// control characters (from the input it quotes) written as \uXXXX.
    QString toString() const;
};

/// `text` with control and format characters written as \uXXXX, so that it prints as it reads
/// and cannot drive a terminal; line breaks and tabs are kept if `keepLineBreaks`.
QString escapeControlCharacters(const QString &text, bool keepLineBreaks = false);

/// The value of a Result that carries no data: Result<Unit> is "done, or why not".
struct Unit {};

/// Either a value or one or more errors (validators collect all of them). Any thread.
template <typename T> class Result {
public:
    Result(T value) : m_value(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : m_errors{std::move(error)} {} // NOLINT(google-explicit-constructor)
    Result(std::vector<Error> errors) : m_errors(std::move(errors)) {} // NOLINT

    bool isOk() const { return m_value.has_value(); }
    explicit operator bool() const { return isOk(); }
    const T &value() const & { return *m_value; }
    T &value() & { return *m_value; }
    /// By value, so that `for (x : f().value())` does not dangle.
    T value() && { return std::move(*m_value); }
    const T *operator->() const { return &*m_value; }
    T *operator->() { return &*m_value; }
    const std::vector<Error> &errors() const { return m_errors; }
    /// All errors, one per line.
    QString errorString() const;

private:
    std::optional<T> m_value;
    std::vector<Error> m_errors;
};

QString joinErrors(const std::vector<Error> &errors);

template <typename T> QString Result<T>::errorString() const
{
    return joinErrors(m_errors);
}

} // namespace fcl
