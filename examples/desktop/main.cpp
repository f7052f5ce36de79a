// SPDX-License-Identifier: MIT
// A Qt Widgets window that blocks a slot on a quick coroutine and runs long work without
// freezing. `desktop --screenshot FILE` saves a picture of the window at work and exits.
#include "window.h"

#include <QApplication>
#include <QPushButton>
#include <QTimer>

int main(int argc, char **argv) {
    QApplication app(argc, argv);
    Window window;
    window.show();

    const QStringList arguments = QApplication::arguments();
    const qsizetype screenshot = arguments.indexOf(QStringLiteral("--screenshot"));
    if (screenshot > 0 && screenshot + 1 < arguments.size()) {
        const QString file = arguments.at(screenshot + 1);
        window.findChild<QPushButton *>(QStringLiteral("load"))->click();
        window.findChild<QPushButton *>(QStringLiteral("start"))->click();
        QTimer::singleShot(750, &window, [&window, file] {
            if (!window.grab().save(file))
                QApplication::exit(1);
            else
                QApplication::quit();
        });
    }
    return app.exec();
}
