"""GlanceImageService passes the right calls to nova's own Glance client."""

import fixtures

from hybridhost.virt.docker import images


class RecordingGlanceAPI:
    calls = []

    def get(self, context, image_id):
        self.calls.append(("get", image_id))
        return {"id": image_id, "container_format": "docker"}

    def download(self, context, image_id, data=None, dest_path=None, trusted_certs=None):
        self.calls.append(("download", image_id, data, dest_path))

    def update(self, context, image_id, image_info, data=None, purge_props=True):
        self.calls.append(("update", image_id, image_info, data, purge_props))


class GlanceImageServiceTest(fixtures.TestWithFixtures):

    def setUp(self):
        super().setUp()
        RecordingGlanceAPI.calls = []
        self.useFixture(fixtures.MonkeyPatch("nova.image.glance.API", RecordingGlanceAPI))
        self.service = images.GlanceImageService()

    def test_download_is_written_into_the_given_file(self):
        marker = object()
        self.service.download("ctx", "img-1", marker)
        self.assertEqual([("download", "img-1", marker, None)], RecordingGlanceAPI.calls)

    def test_upload_keeps_existing_properties(self):
        marker = object()
        self.service.upload("ctx", "snap-1", {"container_format": "docker"}, marker)
        self.assertEqual([("update", "snap-1", {"container_format": "docker"}, marker, False)],
                         RecordingGlanceAPI.calls)

    def test_show(self):
        self.assertEqual("img-2", self.service.show("ctx", "img-2")["id"])
