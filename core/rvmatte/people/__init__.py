"""People: pick who is matted and split a finished matte into one matte per person.

* ``targets``: what the user gives (masks on some frames, points) and the person names;
* ``tracking``: carry the labels of the matte's regions from frame to frame (optical flow);
* ``cryptomatte``: ids, manifest and the rank/coverage layers of the per-person EXR.
"""
