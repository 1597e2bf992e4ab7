// Petty's geofence maps: a click on a map beside a fence form puts that place into the form,
// as the circle's centre or as the polygon's next corner. The map says where its middle is
// (data-origin-lat, data-origin-lon) and how many metres one unit of its drawing is
// (data-metres-per-unit), in the same local projection the server drew it in. Without this
// script the form takes typed coordinates, and nothing else changes.
(function () {
  "use strict";

  var EARTH_RADIUS_M = 6371008.8;
  var MIDDLE = 200;

  function degrees(radians) {
    return radians * 180 / Math.PI;
  }

  // The click's place in the drawing, and its latitude and longitude.
  function placeOf(svg, event) {
    var ctm = svg.getScreenCTM();
    if (!ctm) {
      return null;
    }
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var at = point.matrixTransform(ctm.inverse());
    var metresPerUnit = parseFloat(svg.dataset.metresPerUnit);
    var originLat = parseFloat(svg.dataset.originLat);
    var originLon = parseFloat(svg.dataset.originLon);
    if (!isFinite(metresPerUnit) || !isFinite(originLat) || !isFinite(originLon)) {
      return null;
    }
    var east = (at.x - MIDDLE) * metresPerUnit;
    var north = (MIDDLE - at.y) * metresPerUnit;
    var lat = originLat + degrees(north / EARTH_RADIUS_M);
    var lon = originLon + degrees(east / (EARTH_RADIUS_M * Math.cos(originLat * Math.PI / 180)));
    if (lon > 180) {
      lon -= 360;
    } else if (lon < -180) {
      lon += 360;
    }
    return { x: at.x, y: at.y, lat: lat.toFixed(6), lon: lon.toFixed(6), metresPerUnit: metresPerUnit };
  }

  function say(form, text) {
    var status = form.querySelector(".geo-picked");
    if (status) {
      status.textContent = text;
    }
  }

  function placeCentre(svg, form, place) {
    form.elements.lat.value = place.lat;
    form.elements.lon.value = place.lon;
    var marker = svg.querySelector(".geo-draft-centre");
    if (marker) {
      var radius = parseFloat(form.elements.radius_m.value);
      marker.setAttribute("cx", place.x.toFixed(1));
      marker.setAttribute("cy", place.y.toFixed(1));
      marker.setAttribute("r", isFinite(radius) && radius > 0 ? (radius / place.metresPerUnit).toFixed(1) : "4");
      marker.setAttribute("visibility", "visible");
    }
    say(form, "Centre set to " + place.lat + ", " + place.lon + ".");
  }

  function addCorner(svg, form, place) {
    var points = form.elements.points;
    var typed = points.value.trim();
    points.value = (typed ? typed + "\n" : "") + place.lat + ", " + place.lon;
    var line = svg.querySelector(".geo-draft-line");
    if (line) {
      var drawn = (line.getAttribute("points") || "").trim();
      line.setAttribute("points", (drawn ? drawn + " " : "") + place.x.toFixed(1) + "," + place.y.toFixed(1));
    }
    var count = points.value.split("\n").filter(function (l) { return l.trim() !== ""; }).length;
    say(form, "Corner " + count + " added at " + place.lat + ", " + place.lon + ".");
  }

  function wire(svg) {
    var form = document.getElementById(svg.dataset.geoForm);
    if (!form || !form.elements.kind) {
      return;
    }
    svg.classList.add("geo-clickable");
    svg.addEventListener("click", function (event) {
      var place = placeOf(svg, event);
      if (!place) {
        return;
      }
      if (form.elements.kind.value === "polygon") {
        addCorner(svg, form, place);
      } else {
        placeCentre(svg, form, place);
      }
    });
  }

  document.querySelectorAll("svg[data-geo-form]").forEach(wire);
})();
