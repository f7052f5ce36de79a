// SPDX-License-Identifier: MIT
// The interface a host application defines for its plugins: synchronous, as most plugin
// interfaces are. It knows nothing of coroutines or palitra.
#pragma once

#include <QObject>
#include <QString>

class LookupInterface {
public:
    virtual ~LookupInterface() = default;
    //! Blocks until the answer for \a key is known. A null QString means there is none (unknown
    //! key, no answer in time, or the plugin was unloaded while the call was waiting); a
    //! failure of the plugin itself is thrown as an exception derived from std::exception.
    virtual QString lookup(const QString &key) = 0;
    //! How many lookup() calls are inside the plugin right now, on any thread.
    virtual int callsInFlight() const = 0;
};

#define LookupInterface_iid "org.palitra.examples.LookupInterface/1.0"
Q_DECLARE_INTERFACE(LookupInterface, LookupInterface_iid)
